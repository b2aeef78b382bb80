"""Where the app keeps its files.

Default: the platform's user directories (platformdirs). ``--data-dir DIR`` or the environment
variable ``WECOM_AUDITOR_DATA_DIR`` puts everything (settings, archive, media, logs) under DIR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "wecom-auditor"
DATA_DIR_ENV = "WECOM_AUDITOR_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        root = data_dir or os.environ.get(DATA_DIR_ENV)
        if root:
            base = Path(root).expanduser().resolve()
            return cls(base, base, base / "cache", base / "logs")
        return cls(Path(platformdirs.user_config_dir(APP_NAME)), Path(platformdirs.user_data_dir(APP_NAME)),
                   Path(platformdirs.user_cache_dir(APP_NAME)), Path(platformdirs.user_log_dir(APP_NAME)))

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def default_database(self) -> Path:
        return self.data_dir / "archive.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def spool_dir(self) -> Path:
        return self.cache_dir / "spool"

    @property
    def demo_corpus_dir(self) -> Path:
        return self.data_dir / "demo-corpus"

    def ensure(self) -> None:
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
