"""Product files from the station to the bridge over HTTP: a durable queue and a resumable upload.

Inputs: files the extractor wrote (`enqueue(path, observation_id, kind)`, e.g. the FITS, PNG, MP4
of an observation). The queue is a SQLite table (committed before `enqueue` returns), so files
waiting survive a restart or power loss; a worker thread uploads them oldest first with the
bridge's resumable protocol (`cloud_bridge.files.uploads`): `HEAD` asks how many bytes the bridge
already has, then `PUT` sends the rest in chunks with `Content-Range` and the file's `X-Sha256`.
An upload cut off (network, power, bridge restart) goes on from the bridge's offset, not from the
start. Failures are retried with exponential back-off (with jitter, up to `retry_max_s`); a file
the bridge refuses for good (422: its bytes do not match, 413: too large, ...) is kept in the
queue marked failed with the reason, and not retried.

    uploader = FileUploader("https://bridge.example.org", "ams01", token, data_dir / "uploads.sqlite")
    uploader.start()
    uploader.enqueue(fits_path, observation_id, "fits")
    report_product_url = uploader.url_for(observation_id, fits_path.name)
"""

from __future__ import annotations

import hashlib
import logging
import random
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

DEFAULT_CHUNK_BYTES = 1024 * 1024
PERMANENT_STATUS = (400, 404, 413, 422)
"""Answers that retrying will not change: the file is marked failed."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    observation_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    enqueued_utc TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_unix REAL NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (observation_id, name)
)
"""


class UploadRefused(Exception):
    """The bridge refused the file (`status`, `reason`); `permanent` when retrying cannot help."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status, self.reason = status, reason
        self.permanent = status in PERMANENT_STATUS


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


class FileUploader:
    """Uploads queued product files of `station_id` to the bridge at `base_url` with `token` (the
    station's HTTP token from enrolment). spool_db: the queue's SQLite file."""

    def __init__(
        self,
        base_url: str,
        station_id: str,
        token: str,
        spool_db: Path,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 300.0,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ):
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be >= 1, got {chunk_bytes}")
        self.base_url = base_url.rstrip("/")
        self.station_id = station_id
        self.chunk_bytes = int(chunk_bytes)
        self.retry_initial_s, self.retry_max_s = float(retry_initial_s), float(retry_max_s)
        self.spool_db = Path(spool_db)
        self.spool_db.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.spool_db, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an enqueued file survives power loss
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s, transport=transport
        )
        self.uploaded = 0  # files completed since start
        self.bytes_sent = 0

    # -- queue ------------------------------------------------------------------------------------

    def enqueue(self, path: Path | str, observation_id: str, kind: str) -> None:
        """Queue a file for upload (durable on return); a file already queued for this observation
        and name is left as it is."""
        path = Path(path).resolve()
        size, sha = path.stat().st_size, file_sha256(path)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO uploads (path, observation_id, name, kind, size_bytes, sha256, "
                "enqueued_utc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (str(path), observation_id, path.name, kind, size, sha, datetime.now(UTC).isoformat()),
            )
        log.info(
            "event=upload_queued station=%s observation=%s name=%s bytes=%d",
            self.station_id,
            observation_id,
            path.name,
            size,
        )
        self._idle.clear()
        self._wake.set()

    def pending(self) -> int:
        """Files waiting to be uploaded (not counting those the bridge refused for good)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM uploads WHERE failed = 0").fetchone()[0])

    def failed(self) -> list[tuple[str, str, str]]:
        """(observation_id, name, reason) of files the bridge refused for good."""
        with self._lock:
            return list(
                self._db.execute("SELECT observation_id, name, last_error FROM uploads WHERE failed = 1")
            )

    def url_for(self, observation_id: str, name: str) -> str:
        """Where the bridge serves the file once uploaded (for the report's `products[].url`)."""
        return f"{self.base_url}/files/{self.station_id}/{observation_id}/{name}"

    # -- worker -----------------------------------------------------------------------------------

    def start(self) -> FileUploader:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="skytrail-upload", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the chunk in flight; what is left stays queued for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._http.close()
        self._db.close()

    def wait_drained(self, timeout_s: float) -> bool:
        """Wait until nothing is pending (or only failed files are left)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.05)
        return self.pending() == 0

    def _next_due(self) -> tuple | None:
        with self._lock:
            return self._db.execute(
                "SELECT id, path, observation_id, name, size_bytes, sha256, attempts, next_try_unix "
                "FROM uploads WHERE failed = 0 ORDER BY next_try_unix, id LIMIT 1"
            ).fetchone()

    def _run(self) -> None:
        while not self._stop.is_set():
            row = self._next_due()
            if row is None:
                self._idle.set()
                self._wake.wait(5.0)
                self._wake.clear()
                continue
            row_id, path, observation_id, name, size, sha, attempts, next_try = row
            wait_s = next_try - time.time()
            if wait_s > 0:
                self._wake.wait(min(wait_s, 5.0))
                self._wake.clear()
                continue
            try:
                self.upload_file(Path(path), observation_id, name, size, sha)
            except UploadRefused as exc:
                self._failed_attempt(row_id, attempts, str(exc), permanent=exc.permanent)
            except (httpx.HTTPError, OSError) as exc:
                permanent = isinstance(exc, FileNotFoundError)
                self._failed_attempt(row_id, attempts, f"{type(exc).__name__}: {exc}", permanent=permanent)
            else:
                with self._lock:
                    self._db.execute("DELETE FROM uploads WHERE id = ?", (row_id,))
                self.uploaded += 1

    def _failed_attempt(self, row_id: int, attempts: int, reason: str, *, permanent: bool) -> None:
        delay = min(self.retry_max_s, self.retry_initial_s * 2**attempts) * random.uniform(0.8, 1.2)
        with self._lock:
            self._db.execute(
                "UPDATE uploads SET attempts = attempts + 1, next_try_unix = ?, last_error = ?, failed = ? "
                "WHERE id = ?",
                (time.time() + delay, reason[:1000], int(permanent), row_id),
            )
        log.warning(
            "event=upload_failed station=%s upload=%d attempt=%d permanent=%s retry_in_s=%.1f reason=%r",
            self.station_id,
            row_id,
            attempts + 1,
            permanent,
            0 if permanent else delay,
            reason[:300],
        )

    # -- the protocol -----------------------------------------------------------------------------

    def _file_url(self, observation_id: str, name: str) -> str:
        return self.url_for(observation_id, name)

    def remote_offset(self, observation_id: str, name: str) -> tuple[int, bool]:
        """(bytes the bridge has, complete?) for one file."""
        response = self._http.head(self._file_url(observation_id, name))
        if response.status_code == 404:
            return 0, False
        if response.status_code != 200:
            raise UploadRefused(response.status_code, response.reason_phrase)
        offset = int(response.headers.get("Upload-Offset", 0))
        total = int(response.headers.get("Upload-Length", -1))
        return offset, offset == total and "X-Sha256" in response.headers

    def upload_file(self, path: Path, observation_id: str, name: str, size: int, sha256: str) -> None:
        """Send one file from where the bridge's copy ends; raise UploadRefused or httpx errors."""
        if size == 0:
            raise UploadRefused(422, "empty file: nothing to upload")
        if path.stat().st_size != size or file_sha256(path) != sha256:
            raise UploadRefused(422, f"{path} changed after it was queued")
        offset, complete = self.remote_offset(observation_id, name)
        url = self._file_url(observation_id, name)
        with path.open("rb") as f:
            while not complete:
                if self._stop.is_set():
                    raise httpx.TransportError("stopping")  # retried after the next start
                f.seek(offset)
                chunk = f.read(self.chunk_bytes)
                end = offset + len(chunk) - 1
                response = self._http.put(
                    url,
                    content=chunk,
                    headers={
                        "Content-Range": f"bytes {offset}-{end}/{size}",
                        "X-Sha256": sha256,
                        "Content-Type": "application/octet-stream",
                    },
                )
                if response.status_code in (200, 201):
                    self.bytes_sent += len(chunk)
                    offset = int(response.headers.get("Upload-Offset", end + 1))
                    complete = response.status_code == 201
                elif response.status_code == 409 and "Upload-Offset" in response.headers:
                    offset = int(response.headers["Upload-Offset"])  # resync with the bridge and go on
                else:
                    try:
                        reason = response.json().get("detail", response.text)
                    except ValueError:
                        reason = response.text
                    raise UploadRefused(response.status_code, str(reason)[:500])
        log.info(
            "event=file_uploaded station=%s observation=%s name=%s bytes=%d",
            self.station_id,
            observation_id,
            name,
            size,
        )
