"""The storage backends, each declared once: :class:`StorageBackend` says everything the app needs to
know about one (its settings section, its name in both languages, the form the settings page shows,
whether it needs a secret key and which field holds its key id, and how to open it). A backend module
calls :func:`register_backend` when it is imported; ``backends.py`` imports the built-in ones.

Everything else looks the backends up here: the settings (``storage.<name>`` sections, checked by
the section itself), ``open_storage``/``probe_storage`` (backends.py), the settings page's forms,
and the choices of ``wecom-auditor media migrate --to`` / ``media verify --backend``.
How to test a backend is the storage's own :meth:`~app.core.media.storage.MediaStorage.test_connection`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from app.core.config.paths import AppPaths
from app.core.config.settings import SettingsError, StorageSection, register_storage_section

from .storage import MediaStorage

__all__ = ["FormField", "SecretKey", "StorageBackend", "Text", "backend_names", "register_backend",
           "storage_backend", "storage_backends"]


class Text(NamedTuple):
    """A text shown to people, in English and in Chinese (the UI picks one; core messages are English)."""

    en: str
    zh_CN: str

    def pick(self, chinese: bool) -> str:
        return self.zh_CN if chinese else self.en


@dataclass(frozen=True)
class FormField:
    """One field of a backend's section as the settings page shows it (in this order).

    ``kind``: "text" (a line edit) or "folder" (a folder picker). ``placeholder``: a text, or a function
    of the app's paths (e.g. the default folder). ``missing``: what to ask when :meth:`StorageSection.missing`
    names this field."""

    name: str
    label: Text
    placeholder: Text | Callable[[AppPaths], str] | None = None
    missing: Text | None = None
    kind: str = "text"


@dataclass(frozen=True)
class SecretKey:
    """A backend's secret key: kept in the keyring as ``storage:<backend>:<key id>`` (or given in
    ``WECOM_AUDITOR_STORAGE_SECRET_<BACKEND>``), never in the settings file. ``key_id``: the section's
    field that holds the key id; ``label``: the secret's field on the settings page."""

    key_id: str
    label: Text


Opener = Callable[..., MediaStorage]  # (section, paths, secret or None, **options) -> the storage


@dataclass(frozen=True)
class StorageBackend:
    """One storage backend. ``section.name`` is its name everywhere (settings, media rows, commands).

    ``open(section, paths, secret, **options)`` makes the storage from a checked section (``secret``
    is None for a backend without :attr:`secret`); it makes no network request. ``options`` are the
    backend's tuning (attempts, timeout, ...); a backend ignores those it does not know."""

    section: type[StorageSection]
    title: Text  # the choice on the settings page ("Aliyun OSS bucket")
    open: Opener
    fields: tuple[FormField, ...] = ()
    secret: SecretKey | None = None
    note: Text | None = None  # shown under the form
    order: int = 100  # its place among the choices (the local folder first)

    @property
    def name(self) -> str:
        return self.section.name

    def key_id(self, section: StorageSection) -> str:
        """The key id the secret key belongs to ("" for a backend without a secret)."""
        return str(getattr(section, self.secret.key_id)).strip() if self.secret else ""


_BACKENDS: dict[str, StorageBackend] = {}


def register_backend(backend: StorageBackend) -> StorageBackend:
    """Make ``backend`` known (and its settings section to the settings); returns it. Call it once, at
    the end of the module that declares the backend."""
    names = {f.name for f in backend.fields}
    if backend.secret is not None and backend.secret.key_id not in names:
        raise ValueError(f"storage backend {backend.name!r}: its key id field {backend.secret.key_id!r} is not a "
                         "form field")
    register_storage_section(backend.section)
    _BACKENDS[backend.name] = backend
    return backend


def storage_backends() -> tuple[StorageBackend, ...]:
    """Every registered backend, in the settings page's order."""
    return tuple(sorted(_BACKENDS.values(), key=lambda b: b.order))


def backend_names() -> tuple[str, ...]:
    return tuple(b.name for b in storage_backends())


def storage_backend(name: Any) -> StorageBackend:
    """The backend called ``name``; SettingsError naming the known ones otherwise."""
    backend = _BACKENDS.get(name) if isinstance(name, str) else None
    if backend is None:
        known = ", ".join(sorted(_BACKENDS))
        raise SettingsError(f"storage backend {name!r} is not one of {known}", f"存储后端 {name!r} 不在 {known} 之中")
    return backend
