"""Where the bridge keeps file bytes: a local folder (the single-machine default) or an S3-compatible
bucket (production: AWS S3, MinIO, Ceph RGW, ... through boto3). Both hold objects under keys like
`files/<station>/<observation>/<name>`; the database says which keys exist and what they are.

    files = open_file_store("/var/lib/skytrail/files")                      # local folder
    files = open_file_store("s3://skytrail/prod", endpoint_url="https://minio.example.org")
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
"""Keys: '/'-separated parts of letters, digits, '.', '_', '-', none starting with '.' (so no '..')."""
READ_CHUNK_BYTES = 1024 * 1024


class FileStoreError(RuntimeError):
    """The file store could not be reached or refused an operation."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key) or len(key) > 1024:
        raise ValueError(f"{key!r} is not a file store key")
    return key


class FileStore:
    """Objects by key: put, read in chunks, size, delete. `url` says where the store is."""

    url: str

    def put(self, key: str, data: BinaryIO) -> int:
        """Store the rest of `data` under `key` (replacing it); the number of bytes written."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes) -> int:
        import io

        return self.put(key, io.BytesIO(data))

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; FileNotFoundError if there is none."""
        raise NotImplementedError

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None if there is none."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the object (no error if there is none)."""
        raise NotImplementedError


class LocalFileStore(FileStore):
    """Objects as files under `root` (created if missing); writes go to a temporary file first and are
    renamed into place, so a reader never sees half a file."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: BinaryIO) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        written = 0
        try:
            with os.fdopen(fd, "wb") as f:
                while block := data.read(READ_CHUNK_BYTES):
                    f.write(block)
                    written += len(block)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        with self._path(key).open("rb") as f:
            while block := f.read(READ_CHUNK_BYTES):
                yield block

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3FileStore(FileStore):
    """Objects in an S3-compatible bucket under `prefix`, through boto3 (credentials from boto3's usual
    places: environment, ~/.aws, instance role). `endpoint_url` for non-AWS servers (MinIO, ...).
    The bucket must exist (`create_bucket=True` makes it, for tests and first set-up)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        create_bucket: bool = False,
        client=None,
    ):
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors = (BotoCoreError, ClientError)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        try:
            if create_bucket:
                existing = {b["Name"] for b in self.client.list_buckets().get("Buckets", [])}
                if bucket not in existing:
                    self.client.create_bucket(Bucket=bucket)
            self.client.head_bucket(Bucket=bucket)
        except self._errors as exc:
            raise FileStoreError(
                f"S3 bucket {bucket!r} at {endpoint_url or 'AWS'} is not usable: {exc}"
            ) from exc

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: BinaryIO) -> int:
        size = -1
        if data.seekable():  # s3transfer may close the file object, so measure it first
            start = data.tell()
            size = data.seek(0, os.SEEK_END) - start
            data.seek(start)
        try:
            self.client.upload_fileobj(data, self.bucket, self._key(key))
        except self._errors as exc:
            raise FileStoreError(f"cannot store {key!r} in {self.url}: {exc}") from exc
        return size

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        except self._errors as exc:
            raise FileStoreError(f"cannot read {key!r} from {self.url}: {exc}") from exc
        try:
            yield from body.iter_chunks(READ_CHUNK_BYTES)
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise FileStoreError(f"cannot look up {key!r} in {self.url}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors as exc:
            raise FileStoreError(f"cannot delete {key!r} from {self.url}: {exc}") from exc


def open_file_store(
    location: str | Path, *, endpoint_url: str | None = None, create_bucket: bool = False
) -> FileStore:
    """`s3://bucket[/prefix]` for an S3-compatible store, anything else is a local folder."""
    text = str(location)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"{text!r}: expected s3://BUCKET[/PREFIX]")
        return S3FileStore(bucket, prefix, endpoint_url=endpoint_url, create_bucket=create_bucket)
    return LocalFileStore(text)
