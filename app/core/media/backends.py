"""Opening the media storage backend the settings name: the built-in backends and the calls on them.

The imports below are the list of built-in backends: each module declares its backend and registers
it (registry.py). ``open_storage(settings, paths, secrets)`` gives the backend
``settings.storage.backend`` names (or the one given), with its secret key from the keyring (or
``WECOM_AUDITOR_STORAGE_SECRET_<BACKEND>``). ``probe_storage`` is the settings dialog's "Test
connection" (the storage's own ``test_connection``).
"""

from __future__ import annotations

from typing import Any

from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretStore
from app.core.config.settings import Settings

from . import cloud_backends, local  # noqa: F401  (the built-in backends: local folder, Aliyun OSS, Tencent COS)
from .registry import storage_backend
from .storage import MediaStorage

__all__ = ["open_storage", "probe_storage", "storage_secret"]


def open_storage(settings: Settings, paths: AppPaths, secrets: SecretStore, backend: str | None = None, *,
                 secret: str | None = None, **options: Any) -> MediaStorage:
    """The storage backend ``backend`` (default: the one in use) as configured in ``settings``.

    ``secret`` overrides the stored secret key (the settings dialog tests a key before saving it);
    ``options`` go to the backend (attempts, backoff, timeout, part_size ...).
    Raises SettingsError (an unknown backend, a missing or malformed field, named), SecretMissingError
    (no secret key), StorageError (the local folder cannot be created). Opening makes no network request.
    """
    spec = storage_backend(backend or settings.storage.backend)
    section = settings.storage[spec.name]
    section.validate()
    key = None
    if spec.secret is not None:
        key = secret or secrets.storage_secret(spec.name, spec.key_id(section))
    return spec.open(section, paths, key, **options)


def storage_secret(settings: Settings, secrets: SecretStore, backend: str | None = None) -> str | None:
    """The secret key of the backend in use (or ``backend``), None for one without a secret (the local
    folder): what a process without the keyring needs to open the storage (``open_storage(..., secret=)``)."""
    spec = storage_backend(backend or settings.storage.backend)
    if spec.secret is None:
        return None
    section = settings.storage[spec.name]
    section.validate()
    return secrets.storage_secret(spec.name, spec.key_id(section))


def probe_storage(settings: Settings, paths: AppPaths, secrets: SecretStore, backend: str | None = None, *,
                  secret: str | None = None, **options: Any) -> tuple[str, str]:
    """Check that media can be stored: a sentence on success (English, Chinese); SettingsError,
    SecretMissingError or StorageError (with what to fix) otherwise. Blocking: call it off the GUI thread."""
    storage = open_storage(settings, paths, secrets, backend, secret=secret, attempts=options.pop("attempts", 2),
                           **options)
    return storage.test_connection()
