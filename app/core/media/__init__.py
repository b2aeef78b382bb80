"""Media: content-addressed storage backends and the streaming, verified download of media files.

``storage`` defines the interface every backend implements (local folder now; Aliyun OSS and
Tencent COS later) and the object keys; ``local`` is the folder backend; ``download`` turns one
message's ``sdkfileid`` into a verified, stored object.
"""

from .download import DownloadCancelled, DownloadResult, DownloadStatus, MediaJob, download_media
from .local import LocalStorage
from .storage import MediaNotFoundError, MediaStorage, StorageError, check_key, media_key, validate_corpid

__all__ = [
    "DownloadCancelled", "DownloadResult", "DownloadStatus", "MediaJob", "download_media",
    "LocalStorage",
    "MediaNotFoundError", "MediaStorage", "StorageError", "check_key", "media_key", "validate_corpid",
]
