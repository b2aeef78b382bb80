"""Choosing and opening the media storage backend named in the settings.

``open_storage(settings, paths, secrets)`` gives the backend ``settings.media_backend`` names (or the
one given): the local folder, Aliyun OSS or Tencent COS, with the cloud secret key from the keyring
(or ``WECOM_AUDITOR_STORAGE_SECRET_OSS`` / ``_COS``). ``probe_storage`` is the settings dialog's
"Test connection": it writes, reads back and deletes a small object.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretStore
from app.core.config.settings import MEDIA_BACKENDS, Settings, SettingsError

from .config import CLOUD_BACKENDS, cloud_config
from .local import LocalStorage
from .storage import MediaStorage, StorageError

__all__ = ["BACKEND_NAMES", "open_storage", "probe_storage", "storage_secret"]

BACKEND_NAMES = {"local": "local folder", "oss": "Aliyun OSS", "cos": "Tencent COS"}


def open_storage(settings: Settings, paths: AppPaths, secrets: SecretStore, backend: str | None = None, *,
                 secret: str | None = None, **options) -> MediaStorage:
    """The storage backend ``backend`` (default: the one in use) as configured in ``settings``.

    ``secret`` overrides the stored secret key (the settings dialog tests a key before saving it);
    ``options`` go to the cloud backend (attempts, backoff, timeout, part_size ...).
    Raises SettingsError (a missing or malformed field, named), SecretMissingError (no secret key),
    StorageError (the local folder cannot be created). Opening makes no network request.
    """
    name = backend or settings.media_backend
    if name not in MEDIA_BACKENDS:
        raise SettingsError(f"media backend {name!r} is not one of {', '.join(MEDIA_BACKENDS)}")
    if name == "local":
        return LocalStorage(settings.media_root(paths))
    config = cloud_config(settings, name)
    key = secret or secrets.storage_secret(name, config.access_key_id)
    options.setdefault("spool_dir", paths.spool_dir)
    if name == "oss":
        from .oss import OssStorage

        return OssStorage(config, key, **options)
    from .cos import CosStorage

    return CosStorage(config, key, **options)


def storage_secret(settings: Settings, secrets: SecretStore, backend: str | None = None) -> str | None:
    """The secret key of the cloud backend in use (or ``backend``), None for the local folder:
    what a process without the keyring needs to open the storage (``open_storage(..., secret=)``)."""
    name = backend or settings.media_backend
    if name not in CLOUD_BACKENDS:
        return None
    return secrets.storage_secret(name, cloud_config(settings, name).access_key_id)


def probe_storage(settings: Settings, paths: AppPaths, secrets: SecretStore, backend: str | None = None, *,
                 secret: str | None = None, **options) -> str:
    """Check that media can be stored: a sentence on success; SettingsError, SecretMissingError or
    StorageError (with what to fix) otherwise. Blocking: call it off the GUI thread."""
    name = backend or settings.media_backend
    storage = open_storage(settings, paths, secrets, name, secret=secret, attempts=options.pop("attempts", 2),
                           **options)
    if name in CLOUD_BACKENDS:
        return storage.test_connection()
    root = Path(storage.root)
    started = time.monotonic()
    try:
        fd, probe = tempfile.mkstemp(prefix=".wecom-auditor-probe-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StorageError(f"cannot write in the media folder {root}: {exc.strerror or exc}", backend="local") from exc
    ms = (time.monotonic() - started) * 1000
    return f"The media folder {root} is writable ({ms:.0f} ms)."
