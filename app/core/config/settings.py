"""Settings: each declared once with its type and default, kept in a versioned JSON file.

Secrets never live here: the corp secret and private keys are in the OS keyring (secrets.py).
A settings file from an older version is migrated on load (``_MIGRATIONS``).

The ``storage`` section holds the media backend in use and one section per backend
(``storage: {"backend": "oss", "local": {...}, "oss": {...}, "cos": {...}}``). This module knows no
backend: each declares its section (a :class:`StorageSection`) in app/core/media and registers it
here (:func:`register_storage_section`); the section checks itself. The queue's settings are checked
by queue_settings.py, beside them in this package.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..errors import SaidInTwoLanguages
from ..files import write_atomic
from .paths import AppPaths

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
from .queue_settings import QueueSettingsError, check_queue_settings

SETTINGS_VERSION = 2
LANGUAGES = ("system", "zh_CN", "en")


class SettingsError(SaidInTwoLanguages, ValueError):
    """A settings value is invalid; the message names the setting and the file (in English and
    Chinese)."""


# ---------------------------------------------------------------------------------------------- storage

class StorageSection:
    """The settings of one storage backend, ``storage.<name>`` in the file: subclass it as a dataclass
    whose fields all have a str, int or bool default, name the backend in ``name``, and check the
    values in :meth:`validate`. Register it with :func:`register_storage_section` (the media
    registry does, app/core/media/registry.py)."""

    name: ClassVar[str] = ""

    @classmethod
    def setting(cls, field_name: str) -> str:
        """A field's name in the file and in messages: ``storage.oss.bucket``."""
        return f"storage.{cls.name}.{field_name}"

    def validate(self) -> None:
        """Raise SettingsError naming the field (:meth:`setting`) when the backend cannot be used with
        these values. Called for the backend in use only (another one's half-filled form is no error)."""

    def missing(self) -> str | None:
        """The first field a form must ask for before the rest can be checked (empty but needed), or None."""
        return None

    def describe(self, paths: AppPaths) -> str:
        """Where this backend keeps the media, for messages (no secret in it)."""
        return self.name

    @classmethod
    def from_dict(cls, raw: Any) -> StorageSection:
        """The section from the file's object; unknown keys are dropped, a value of the wrong type is
        named (SettingsError)."""
        if not isinstance(raw, dict):
            raise SettingsError(f"storage.{cls.name} must be an object, not {raw!r}",
                                f"storage.{cls.name} 必须是对象，而不是 {raw!r}")
        values = {}
        for f in dataclasses.fields(cast("type[DataclassInstance]", cls)):  # each section is a dataclass
            if f.name not in raw:
                continue
            value, kind = raw[f.name], type(f.default)
            if type(value) is not kind:
                words, words_zh = _TYPE_WORDS.get(kind, (kind.__name__, kind.__name__))
                raise SettingsError(f"{cls.setting(f.name)} must be {words}, not {value!r}",
                                    f"{cls.setting(f.name)} 必须是{words_zh}，而不是 {value!r}")
            values[f.name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(cast("DataclassInstance", self))  # each section is a dataclass


_TYPE_WORDS = {str: ("a string", "字符串"), int: ("a whole number", "整数"), bool: ("true or false", "true 或 false")}
_STORAGE_SECTIONS: dict[str, type[StorageSection]] = {}


def register_storage_section(section: type[StorageSection]) -> None:
    """Make a backend's settings section known under ``section.name`` (once per name)."""
    if not section.name or not section.name.isidentifier() or section.name == "backend":
        raise ValueError(f"a storage backend needs a name that is an identifier, not {section.name!r}")
    known = _STORAGE_SECTIONS.get(section.name)
    if known is not None and known is not section:
        raise ValueError(f"storage backend {section.name!r} is registered twice")
    _STORAGE_SECTIONS[section.name] = section


@dataclass(eq=False)
class StorageSettings:
    """The ``storage`` section: the backend in use and each backend's own section (``storage["oss"]``).

    A section the file lacks has its defaults. A section of a backend not registered in this process
    (a newer version's) is kept as it was read and written back unchanged."""

    backend: str = "local"
    sections: dict[str, StorageSection | dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> StorageSection:
        """Backend ``name``'s section; SettingsError for a backend not registered, or a malformed section."""
        section = self.sections.get(name)
        if isinstance(section, StorageSection):
            return section
        cls = _STORAGE_SECTIONS.get(name)
        if cls is None:
            known = ", ".join(sorted(_STORAGE_SECTIONS))
            raise SettingsError(f"storage backend {name!r} is not one of {known}",
                                f"存储后端 {name!r} 不在 {known} 之中")
        typed = cls() if section is None else cls.from_dict(section)
        self.sections[name] = typed
        return typed

    @property
    def current(self) -> StorageSection:
        """The section of the backend in use."""
        return self[self.backend]

    def validate(self) -> None:
        if not isinstance(self.backend, str) or self.backend not in _STORAGE_SECTIONS:
            known = ", ".join(sorted(_STORAGE_SECTIONS))
            raise SettingsError(f"storage.backend must be one of {known}, not {self.backend!r}",
                                f"storage.backend 必须是 {known} 之一，而不是 {self.backend!r}")
        for name in _STORAGE_SECTIONS:  # every known section has the right types, even one not in use
            self[name]
        self.current.validate()

    def to_dict(self) -> dict[str, Any]:
        """The section as written to the file: ``{"backend": ..., "<name>": {...}, ...}``."""
        out: dict[str, Any] = {"backend": self.backend}
        for name in (*_STORAGE_SECTIONS, *(n for n in self.sections if n not in _STORAGE_SECTIONS)):
            section = self.sections.get(name) if name not in _STORAGE_SECTIONS else self[name]
            out[name] = section.to_dict() if isinstance(section, StorageSection) else dict(section or {})
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> StorageSettings:
        if not isinstance(raw, dict):
            raise SettingsError(f"storage must be an object, not {raw!r}", f"storage 必须是对象，而不是 {raw!r}")
        sections = {k: v for k, v in raw.items() if k != "backend"}
        return cls(backend=raw.get("backend", "local"), sections=sections)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorageSettings) and self.to_dict() == other.to_dict()


# ---------------------------------------------------------------------------------------------- settings

@dataclass
class CorpSettings:
    corpid: str
    name: str = ""
    sdk_library: str = ""  # path of libWeWorkFinanceSdk_C.so; "" = the SDK simulator
    simulator_corpus: str = ""  # the corpus folder the simulator serves
    proxy: str = ""  # socks5://host:port or http://host:port; its password lives in the keyring
    timeout: int = 30  # seconds per SDK call
    # CA certificates (PEM file) to verify WeCom's certificate with, for a company proxy that inspects
    # TLS on purpose; "" = the usual trusted CAs (or SSL_CERT_FILE / REQUESTS_CA_BUNDLE).
    ca_file: str = ""
    key_versions: list[int] = field(default_factory=list)  # installed private-key versions (keys in keyring)
    # Demo profiles only: the secret and keys are read from the simulator corpus (demo data, not secrets)
    # when the machine has no keyring backend.
    secrets_in_corpus: bool = False

    @property
    def uses_simulator(self) -> bool:
        return not self.sdk_library


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    language: str = "system"
    database_url: str = ""  # "" = SQLite file in the data dir
    # Where media files are stored: the backend in use and each backend's section (app/core/media/registry.py);
    # a cloud backend's secret key is in the keyring (SecretStore.storage_secret), never here.
    storage: StorageSettings = field(default_factory=StorageSettings)
    sync_workers: int = 0  # decrypt processes; 0 = one per core
    media_workers: int = 4  # parallel media downloads
    # The delay queue (app/core/queue): "" = the embedded queue in the archive database; or
    # redis://host:6379/0[?prefix=NAME] (its password in the keyring or WECOM_AUDITOR_REDIS_PASSWORD).
    queue_url: str = ""
    sync_interval_minutes: int = 0  # scheduled syncs of every corp by the background jobs; 0 = off
    directory_interval_hours: int = 0  # scheduled directory syncs (names, permit list, consent); 0 = off
    # Scheduled backups (app/core/jobs/backup.py) into backup_folder, a folder of this computer; 0 = off.
    backup_interval_hours: int = 0
    backup_folder: str = ""
    # "Open without login" on this workstation: honoured only while the archive has a single enabled
    # account (AccountService.no_login_allowed); the demo turns it on for its one demo account.
    no_login: bool = False
    corps: list[CorpSettings] = field(default_factory=list)

    def corp(self, corpid: str | None = None) -> CorpSettings:
        """The corp named, or the only/first one; SettingsError if there is none."""
        if not self.corps:
            raise SettingsError("no corp is configured yet: run `wecom-auditor demo` or add your corp in Settings",
                                "尚未配置企业：请运行 `wecom-auditor demo`，或在“设置”中添加您的企业")
        if corpid is None:
            return self.corps[0]
        for c in self.corps:
            if c.corpid == corpid:
                return c
        configured = ", ".join(c.corpid for c in self.corps)
        raise SettingsError(f"corp {corpid!r} is not configured (configured: {configured})",
                            f"企业 {corpid!r} 未配置（已配置：{configured}）")

    def upsert_corp(self, corp: CorpSettings) -> None:
        self.corps = [c for c in self.corps if c.corpid != corp.corpid] + [corp]

    def validate(self) -> None:
        if self.language not in LANGUAGES:
            raise SettingsError(f"language must be one of {', '.join(LANGUAGES)}, not {self.language!r}",
                                f"language 必须是 {', '.join(LANGUAGES)} 之一，而不是 {self.language!r}")
        self.storage.validate()
        if self.sync_workers < 0 or self.media_workers < 1:
            raise SettingsError("sync_workers must be >= 0 and media_workers >= 1",
                                "sync_workers 必须 >= 0，media_workers 必须 >= 1")
        try:
            check_queue_settings(self.queue_url, self.sync_interval_minutes)
        except QueueSettingsError as exc:
            raise SettingsError(exc.message_en, exc.message_zh) from None
        hours = self.directory_interval_hours
        if not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= 24 * 31:
            raise SettingsError(f"directory_interval_hours must be a whole number from 0 (off) to {24 * 31}, "
                                f"not {hours!r}",
                                f"directory_interval_hours 必须是 0（关闭）到 {24 * 31} 之间的整数，而不是 {hours!r}")
        hours = self.backup_interval_hours
        if not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= 24 * 31:
            raise SettingsError(f"backup_interval_hours must be a whole number from 0 (off) to {24 * 31}, not {hours!r}",
                                f"backup_interval_hours 必须是 0（关闭）到 {24 * 31} 之间的整数，而不是 {hours!r}")
        if hours and not (isinstance(self.backup_folder, str) and self.backup_folder.strip()):
            raise SettingsError("scheduled backups need a backup folder (backup_folder)",
                                "定时备份需要备份文件夹（backup_folder）")
        for c in self.corps:
            if not c.corpid or len(c.corpid) > 64:
                raise SettingsError(f"corp id {c.corpid!r} is empty or too long", f"企业 ID {c.corpid!r} 为空或过长")
            if c.timeout < 1:
                raise SettingsError(f"corp {c.corpid}: timeout must be at least 1 second",
                                    f"企业 {c.corpid}：超时时间至少为 1 秒")

    def database(self, paths: AppPaths) -> str:
        from .database import sqlite_url  # SQLAlchemy: loaded when asked

        return self.database_url or sqlite_url(paths.default_database)


def settings_dict(settings: Settings) -> dict[str, Any]:
    """The settings as written to the file (JSON values)."""
    data = dataclasses.asdict(settings)
    data["storage"] = settings.storage.to_dict()
    return data


def setting_values(settings: Settings) -> dict[str, Any]:
    """Every setting by its name, a section's fields as dotted names (``storage.oss.bucket``); the
    corps as a list of dicts under ``corps``. What a settings change is recorded as."""
    values: dict[str, Any] = {}

    def walk(prefix: str, data: dict[str, Any]) -> None:
        for key, value in data.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(name + ".", value)
            else:
                values[name] = value

    data = settings_dict(settings)
    corps = data.pop("corps")
    walk("", data)
    values["corps"] = corps
    return values


# The storage fields of version 1, flat in the top level, and their names in version 2's sections.
_V1_STORAGE = {
    "local": {"media_dir": "folder"},
    "oss": {"oss_endpoint": "endpoint", "oss_region": "region", "oss_bucket": "bucket", "oss_prefix": "prefix",
            "oss_access_key_id": "access_key_id"},
    "cos": {"cos_region": "region", "cos_bucket": "bucket", "cos_endpoint": "endpoint", "cos_prefix": "prefix",
            "cos_secret_id": "secret_id"},
}


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 moved ``media_backend``, ``media_dir`` and the flat ``oss_*``/``cos_*`` fields into the
    ``storage`` section (the secrets stay in the keyring under the same names)."""
    raw = dict(raw)
    storage: dict[str, Any] = {"backend": raw.pop("media_backend", "local")}
    for backend, names in _V1_STORAGE.items():
        section = {new: raw.pop(old) for old, new in names.items() if old in raw}
        if section:
            storage[backend] = section
    raw["storage"] = storage
    raw["version"] = 2
    return raw


_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # version N -> function upgrading a dict of version N to N+1
    1: _v1_to_v2,
}


def _from_dict(raw: dict[str, Any], source: Path) -> Settings:
    version = raw.get("version", 1)
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise SettingsError(f"{source} was written by a newer version of the app (settings version {version})",
                            f"{source} 由更新版本的应用写入（设置版本 {version}）")
    while version < SETTINGS_VERSION:
        raw = _MIGRATIONS[version](raw)
        version += 1
    known = {f.name for f in dataclasses.fields(Settings)}
    corp_known = {f.name for f in dataclasses.fields(CorpSettings)}
    try:
        corps = [CorpSettings(**{k: v for k, v in c.items() if k in corp_known}) for c in raw.get("corps", [])]
        values = {k: v for k, v in raw.items() if k in known and k not in ("corps", "storage")}
        settings = Settings(**values, corps=corps)
    except TypeError as exc:
        raise SettingsError(f"{source}: {exc}", f"{source}：无法读取其中的设置（{exc}）") from None
    try:
        settings.storage = StorageSettings.from_dict(raw.get("storage", {}))
        settings.validate()
    except SettingsError as exc:
        raise SettingsError(f"{source}: {exc}", f"{source}：{exc.message_zh}") from None
    return settings


def load_settings(paths: AppPaths) -> Settings:
    """The settings in ``paths.settings_file``, or defaults if there is none."""
    path = paths.settings_file
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc}", f"无法读取设置文件 {path}：{exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"the settings file {path} does not hold a JSON object",
                            f"设置文件 {path} 中不是 JSON 对象")
    return _from_dict(raw, path)


def save_settings(settings: Settings, paths: AppPaths) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a settings file."""
    settings.validate()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(settings_dict(settings), ensure_ascii=False, indent=2)
    write_atomic(paths.settings_file, data.encode("utf-8"))
