"""Resumable upload of a station's product files over HTTP, into a `FileStore`.

The protocol (served by `cloud_bridge.api.routes.files`), for one file
`/files/{station_id}/{observation_id}/{name}`:

- `HEAD` answers `Upload-Offset` (bytes received so far; 404 if the bridge has nothing yet) and
  `Upload-Length`; a complete file answers `Upload-Offset` = `Upload-Length` and its `X-Sha256`.
- `PUT` sends the next chunk: `Content-Range: bytes START-END/TOTAL` (END inclusive) and
  `X-Sha256: <sha256 hex of the whole file>`. START must equal the stored offset (409 with the
  offset otherwise, so the station resumes from there); `START == 0` with another length or
  sha256 starts the upload afresh. The last chunk completes the file: the bridge hashes the
  received bytes, and stores the file only when they match (422 otherwise, and the upload starts
  over). 201 when complete, 200 after a partial chunk; the `Upload-Offset` header says where to
  go on.
- When the observation report is already stored and lists a product of that name, the file's
  sha256 and size must be what the report says (422 otherwise).

State lives in the database (table `uploads`: offset and the chunks' keys) and bytes in the file
store (`staging/...` until complete, then `files/<station>/<observation>/<name>`), so any bridge
worker may take the next chunk: nothing is kept in one process's memory or disk.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from cloud_bridge.files.store import FileStore
from cloud_bridge.store import ReplayConflict, Store
from cloud_bridge.store.models import Observation, ProductFile, Station, Upload

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1024 * 1024 * 1024
MAX_CHUNK_BYTES = 16 * 1024 * 1024


class UploadError(Exception):
    """A chunk refused: `status` (HTTP), `reason`, and the offset the station should resume from."""

    def __init__(self, status: int, reason: str, offset: int | None = None):
        super().__init__(reason)
        self.status, self.reason, self.offset = status, reason, offset


@dataclass(frozen=True)
class UploadState:
    offset: int
    total: int
    sha256: str
    complete: bool
    key: str | None = None  # the file store key, once complete


def file_key(station_id: str, observation_id: str, name: str) -> str:
    return f"files/{station_id}/{observation_id}/{name}"


class UploadService:
    """Chunks into files: `state(...)` for HEAD, `put_chunk(...)` for PUT."""

    def __init__(
        self,
        store: Store,
        files: FileStore,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_chunk_bytes: int = MAX_CHUNK_BYTES,
    ):
        self.store, self.files = store, files
        self.max_file_bytes, self.max_chunk_bytes = int(max_file_bytes), int(max_chunk_bytes)

    def state(self, station_id: str, observation_id: str, name: str) -> UploadState | None:
        with self.store.transaction() as session:
            done = self._file_row(session, station_id, observation_id, name)
            if done is not None:
                return UploadState(done.size_bytes, done.size_bytes, done.sha256, True, done.path)
            up = self._upload_row(session, station_id, observation_id, name)
            if up is not None:
                return UploadState(up.offset_bytes, up.total_bytes, up.sha256, False)
        return None

    @staticmethod
    def _file_row(session, station_id: str, observation_id: str, name: str) -> ProductFile | None:
        return session.scalar(
            select(ProductFile).where(
                ProductFile.station_id == station_id,
                ProductFile.observation_id == observation_id,
                ProductFile.name == name,
            )
        )

    @staticmethod
    def _upload_row(session, station_id: str, observation_id: str, name: str) -> Upload | None:
        return session.scalar(
            select(Upload).where(
                Upload.station_id == station_id, Upload.observation_id == observation_id, Upload.name == name
            )
        )

    def _check_against_report(self, session, station_id, observation_id, name, total, sha256) -> None:
        report = session.scalar(
            select(Observation.report_json).where(Observation.observation_id == observation_id)
        )
        if report is None:
            return
        if report.get("station_id") != station_id:  # pragma: no cover - ids start with the station's
            raise UploadError(403, f"observation {observation_id!r} is not station {station_id!r}'s")
        for product in report.get("products") or []:
            if product.get("name") == name:
                if product.get("sha256") != sha256 or product.get("size_bytes") != total:
                    raise UploadError(
                        422,
                        f"the report of {observation_id!r} lists {name!r} with sha256 "
                        f"{product.get('sha256')} and {product.get('size_bytes')} bytes; this upload says "
                        f"{sha256} and {total} bytes",
                    )

    def put_chunk(
        self,
        station_id: str,
        observation_id: str,
        name: str,
        *,
        start: int,
        end: int,
        total: int,
        sha256: str,
        data: bytes,
    ) -> UploadState:
        """Take one chunk (bytes START..END of TOTAL, END inclusive); the upload's state after it."""
        if not observation_id.startswith(f"{station_id}-"):
            raise UploadError(422, f"observation_id {observation_id!r} must start with '{station_id}-'")
        if total > self.max_file_bytes:
            raise UploadError(413, f"{total} bytes exceeds the largest file accepted, {self.max_file_bytes}")
        if not (0 <= start <= end < total) or len(data) != end - start + 1:
            raise UploadError(
                400, f"Content-Range bytes {start}-{end}/{total} does not fit a body of {len(data)} bytes"
            )
        now = datetime.now(UTC)
        with self.store.transaction() as session:
            if session.get(Station, station_id) is None:
                raise UploadError(
                    404, f"no station {station_id!r} (a station exists once it enrolled or published)"
                )
            done = self._file_row(session, station_id, observation_id, name)
            if done is not None:
                if done.sha256 == sha256 and done.size_bytes == total:
                    return UploadState(total, total, sha256, True, done.path)
                raise UploadError(409, f"{name!r} of {observation_id!r} is already stored with other content")
            self._check_against_report(session, station_id, observation_id, name, total, sha256)
            up = self._upload_row(session, station_id, observation_id, name)
            stale_chunks: list[str] = []
            if up is not None and (up.total_bytes != total or up.sha256 != sha256):
                if start != 0:
                    raise UploadError(
                        409,
                        f"an upload of {name!r} with another length or sha256 is in progress; "
                        "start again from byte 0 to replace it",
                        up.offset_bytes,
                    )
                stale_chunks = [key for _, key in up.chunks_json]
                session.delete(up)
                session.flush()
                up = None
            if up is None:
                up = Upload(
                    station_id=station_id,
                    observation_id=observation_id,
                    name=name,
                    total_bytes=total,
                    sha256=sha256,
                    offset_bytes=0,
                    chunks_json=[],
                    created_utc=now,
                    updated_utc=now,
                )
                session.add(up)
                try:
                    session.flush()
                except IntegrityError:  # another worker began the same upload this instant
                    raise UploadError(
                        409, "this upload was begun concurrently; ask HEAD for the offset", 0
                    ) from None
            if start != up.offset_bytes:
                raise UploadError(
                    409, f"expected a chunk starting at byte {up.offset_bytes}, got {start}", up.offset_bytes
                )
            upload_id, chunks = up.id, list(up.chunks_json)
        for key in stale_chunks:
            self.files.delete(key)
        chunk_key = f"staging/{station_id}/{upload_id}/{start:015d}-{uuid.uuid4().hex[:12]}"
        self.files.put_bytes(chunk_key, data)
        new_offset = end + 1
        with self.store.transaction() as session:
            moved = session.execute(
                update(Upload)
                .where(Upload.id == upload_id, Upload.offset_bytes == start)
                .values(offset_bytes=new_offset, chunks_json=[*chunks, [start, chunk_key]], updated_utc=now)
            )
        if moved.rowcount != 1:  # another request took this offset first
            self.files.delete(chunk_key)
            current = self.state(station_id, observation_id, name)
            raise UploadError(
                409, "another chunk for this offset arrived first", current.offset if current else 0
            )
        if new_offset < total:
            return UploadState(new_offset, total, sha256, False)
        return self._complete(upload_id, station_id, observation_id, name, total, sha256)

    def _complete(
        self, upload_id: int, station_id: str, observation_id: str, name: str, total: int, sha256: str
    ) -> UploadState:
        with self.store.transaction() as session:
            up = session.get(Upload, upload_id)
            chunk_keys = [key for _, key in sorted(up.chunks_json)]
        digest = hashlib.sha256()
        key = file_key(station_id, observation_id, name)
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as assembled:
            for chunk_key in chunk_keys:
                for block in self.files.iter_bytes(chunk_key):
                    digest.update(block)
                    assembled.write(block)
            size = assembled.tell()
            if digest.hexdigest() != sha256 or size != total:
                self._drop_upload(upload_id, chunk_keys)
                log.warning(
                    "event=upload_rejected station=%s observation=%s name=%s reason=sha256_mismatch",
                    station_id,
                    observation_id,
                    name,
                )
                raise UploadError(
                    422,
                    f"the {size} bytes received hash to {digest.hexdigest()}, not the announced {sha256}; "
                    "the upload starts over",
                    0,
                )
            assembled.seek(0)
            self.files.put(key, assembled)
        try:
            with self.store.transaction() as session:
                self.store.add_file(
                    session,
                    station_id=station_id,
                    observation_id=observation_id,
                    name=name,
                    sha256=sha256,
                    size_bytes=total,
                    path=key,
                    uploaded_utc=datetime.now(UTC),
                )
                up = session.get(Upload, upload_id)
                if up is not None:
                    session.delete(up)
        except ReplayConflict as exc:
            raise UploadError(409, str(exc)) from exc
        for chunk_key in chunk_keys:
            self.files.delete(chunk_key)
        log.info(
            "event=file_stored station=%s observation=%s name=%s bytes=%d key=%s",
            station_id,
            observation_id,
            name,
            total,
            key,
        )
        return UploadState(total, total, sha256, True, key)

    def _drop_upload(self, upload_id: int, chunk_keys: list[str]) -> None:
        with self.store.transaction() as session:
            up = session.get(Upload, upload_id)
            if up is not None:
                session.delete(up)
        for chunk_key in chunk_keys:
            self.files.delete(chunk_key)
