"""Product files of the stations: where their bytes lie (`store`: a local folder by default, an
S3-compatible bucket in production) and the resumable HTTP upload over it (`uploads`)."""

from cloud_bridge.files.store import FileStore, FileStoreError, LocalFileStore, S3FileStore, open_file_store
from cloud_bridge.files.uploads import UploadError, UploadService, UploadState

__all__ = [
    "FileStore",
    "FileStoreError",
    "LocalFileStore",
    "S3FileStore",
    "UploadError",
    "UploadService",
    "UploadState",
    "open_file_store",
]
