"""Settings: each declared once with its type and default, kept in a versioned JSON file.

Secrets never live here: the corp secret and private keys are in the OS keyring (secrets.py).
A settings file from an older version is migrated on load (``_MIGRATIONS``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .paths import AppPaths

SETTINGS_VERSION = 1
LANGUAGES = ("system", "zh_CN", "en")
MEDIA_BACKENDS = ("local", "oss", "cos")


class SettingsError(ValueError):
    """A settings value is invalid; the message names the setting and the file."""


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
    media_backend: str = "local"
    media_dir: str = ""  # "" = <data dir>/media
    # Cloud media storage (media_backend "oss"/"cos", app/core/media/backends.py); each secret key is in the
    # keyring (SecretStore.storage_secret), never here.
    oss_endpoint: str = ""  # "" = https://oss-<region>.aliyuncs.com; or http(s)://host[:port] of a gateway
    oss_region: str = ""  # e.g. cn-hangzhou (V4 signatures are scoped to it)
    oss_bucket: str = ""
    oss_prefix: str = ""  # folder inside the bucket for this archive's objects ("" = the bucket's root)
    oss_access_key_id: str = ""
    cos_region: str = ""  # e.g. ap-guangzhou
    cos_bucket: str = ""  # BucketName-APPID, e.g. archive-1250000000
    cos_endpoint: str = ""  # "" = the region's endpoint; or a domain, or http(s)://host[:port] to connect to
    cos_prefix: str = ""
    cos_secret_id: str = ""
    sync_workers: int = 0  # decrypt processes; 0 = one per core
    media_workers: int = 4  # parallel media downloads
    # The delay queue (app/core/queue): "" = the embedded queue in the archive database; or
    # redis://host:6379/0[?prefix=NAME] (its password in the keyring or WECOM_AUDITOR_REDIS_PASSWORD).
    queue_url: str = ""
    sync_interval_minutes: int = 0  # scheduled syncs of every corp by the background jobs; 0 = off
    # "Open without login" on this workstation: honoured only while the archive has a single enabled
    # account (AccountService.no_login_allowed); the demo turns it on for its one demo account.
    no_login: bool = False
    corps: list[CorpSettings] = field(default_factory=list)

    def corp(self, corpid: str | None = None) -> CorpSettings:
        """The corp named, or the only/first one; SettingsError if there is none."""
        if not self.corps:
            raise SettingsError("no corp is configured yet: run `wecom-auditor demo` or add your corp in Settings")
        if corpid is None:
            return self.corps[0]
        for c in self.corps:
            if c.corpid == corpid:
                return c
        raise SettingsError(f"corp {corpid!r} is not configured (configured: "
                            f"{', '.join(c.corpid for c in self.corps)})")

    def upsert_corp(self, corp: CorpSettings) -> None:
        self.corps = [c for c in self.corps if c.corpid != corp.corpid] + [corp]

    def validate(self) -> None:
        if self.language not in LANGUAGES:
            raise SettingsError(f"language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
        if self.media_backend not in MEDIA_BACKENDS:
            raise SettingsError(f"media_backend must be one of {', '.join(MEDIA_BACKENDS)}")
        from app.core.media.config import check_storage_settings  # beside the backends it describes

        check_storage_settings(self, self.media_backend)
        if self.sync_workers < 0 or self.media_workers < 1:
            raise SettingsError("sync_workers must be >= 0 and media_workers >= 1")
        from app.core.queue.config import check_queue_settings  # beside the queue it describes

        check_queue_settings(self)
        for c in self.corps:
            if not c.corpid or len(c.corpid) > 64:
                raise SettingsError(f"corp id {c.corpid!r} is empty or too long")
            if c.timeout < 1:
                raise SettingsError(f"corp {c.corpid}: timeout must be at least 1 second")

    def database(self, paths: AppPaths) -> str:
        from app.core.store.db import sqlite_url

        return self.database_url or sqlite_url(paths.default_database)

    def media_root(self, paths: AppPaths) -> Path:
        return Path(self.media_dir).expanduser() if self.media_dir else paths.media_dir


_MIGRATIONS: dict[int, callable] = {
    # version N -> function upgrading a dict of version N to N+1
}


def _from_dict(raw: dict, source: Path) -> Settings:
    version = raw.get("version", 1)
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise SettingsError(f"{source} was written by a newer version of the app (settings version {version})")
    while version < SETTINGS_VERSION:
        raw = _MIGRATIONS[version](raw)
        version += 1
    known = {f.name for f in dataclasses.fields(Settings)}
    corp_known = {f.name for f in dataclasses.fields(CorpSettings)}
    try:
        corps = [CorpSettings(**{k: v for k, v in c.items() if k in corp_known}) for c in raw.get("corps", [])]
        values = {k: v for k, v in raw.items() if k in known and k != "corps"}
        settings = Settings(**values, corps=corps)
    except TypeError as exc:
        raise SettingsError(f"{source}: {exc}") from None
    try:
        settings.validate()
    except SettingsError as exc:
        raise SettingsError(f"{source}: {exc}") from None
    return settings


def load_settings(paths: AppPaths) -> Settings:
    """The settings in ``paths.settings_file``, or defaults if there is none."""
    path = paths.settings_file
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"the settings file {path} does not hold a JSON object")
    return _from_dict(raw, path)


def save_settings(settings: Settings, paths: AppPaths) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a settings file."""
    settings.validate()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(asdict(settings), ensure_ascii=False, indent=2)
    fd, tmp = tempfile.mkstemp(dir=paths.config_dir, prefix=".settings-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, paths.settings_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
