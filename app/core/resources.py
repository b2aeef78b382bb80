"""Where the app's resource files are (translations, the PDF fonts): in a source checkout, in a
``pip install``, and inside a PyInstaller bundle. Read-only: nothing is ever written there."""

from __future__ import annotations

import sys
from pathlib import Path

_APP_DIR = Path(__file__).resolve().parents[1]


def resource_dir() -> Path:
    """The ``resources`` folder: the bundle's (``sys._MEIPASS``) when frozen; ``app/resources`` in
    an installed package (pyproject.toml maps the checkout's ``resources/`` there); else the
    checkout's own ``resources/`` beside ``app/``."""
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if frozen:
        return Path(frozen) / "resources"
    installed = _APP_DIR / "resources"
    if installed.is_dir():
        return installed
    return _APP_DIR.parent / "resources"
