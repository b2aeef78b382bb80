"""Media: content-addressed storage backends and the streaming, verified download of media files.

``storage`` defines the interface every backend implements and the object keys; ``registry`` is where
each backend declares itself (settings section, names, form, secret, how to open it); ``local`` is the
folder backend, ``oss`` (Aliyun OSS) and ``cos`` (Tencent COS) the cloud ones over ``cloud``, declared
in ``config``; ``backends`` lists the built-in ones and opens the one the settings name; ``download``
turns one message's ``sdkfileid`` into a verified, stored object; ``migrate`` moves and re-verifies
stored objects. The cloud modules import their SDKs, so they are imported only when used.
"""

from . import backends  # noqa: F401  (registers the storage backends, so the settings know their sections)
from .download import DownloadCancelled, DownloadResult, DownloadStatus, MediaJob, download_media
from .local import LocalStorage
from .storage import MediaNotFoundError, MediaStorage, StorageError, check_key, media_key, validate_corpid

__all__ = [
    "DownloadCancelled", "DownloadResult", "DownloadStatus", "MediaJob", "download_media",
    "LocalStorage",
    "MediaNotFoundError", "MediaStorage", "StorageError", "check_key", "media_key", "validate_corpid",
]
