"""Where the app's resources (translations, icons) are, in a checkout and in a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    base = Path(frozen) if frozen else Path(__file__).resolve().parents[2]
    return base / "resources"


def translation_file(language: str) -> Path:
    return resource_dir() / "i18n" / f"wecom_auditor_{language}.qm"
