"""Where the app's resources (translations, icons) are, in a checkout and in a frozen build."""

from __future__ import annotations

from pathlib import Path

from app.core.resources import resource_dir

__all__ = ["resource_dir", "translation_file"]


def translation_file(language: str) -> Path:
    return resource_dir() / "i18n" / f"wecom_auditor_{language}.qm"
