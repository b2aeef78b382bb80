"""The app's version, the commit it was built from, and the versions of what it runs on
(``wecom-auditor --version``).

The version is the installed distribution's; the commit comes from ``build-info.json`` in the
resources folder, written when the bundle (packaging/wecom-auditor.spec) or a wheel (setup.py) is
built, else from git in a checkout. No Qt here: the Qt version is asked for only by
:func:`version_report`, on request.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from app.core.resources import resource_dir

DISTRIBUTION = "wecom-archive-auditor"
BUILD_INFO = "build-info.json"
_CHECKOUT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def build_info() -> dict:
    """{"version", "commit", "built"} as stamped at build time; {} in a checkout or when unreadable."""
    try:
        return json.loads((resource_dir() / BUILD_INFO).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    stamped = build_info().get("version")
    if stamped:
        return str(stamped)
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def git_commit(folder: Path = _CHECKOUT) -> str | None:
    """The checkout's commit (short hash, "+dirty" when files differ from it), or None."""
    if not (folder / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def app_commit() -> str:
    return str(build_info().get("commit") or git_commit() or "unknown")


def version_report() -> str:
    """Lines for ``--version``: the app (version, commit, build date), Qt and PySide6, Python."""
    info = build_info()
    frozen = ", PyInstaller bundle" if getattr(sys, "frozen", False) else ""
    built = f", built {info['built']}" if info.get("built") else ""
    lines = [f"WeCom Archive Auditor {app_version()} (commit {app_commit()}{built}{frozen})"]
    try:
        import PySide6
        from PySide6.QtCore import qVersion

        lines.append(f"Qt {qVersion()} (PySide6 {PySide6.__version__})")
    except ImportError as exc:  # the CLI works without Qt; say so rather than fail
        lines.append(f"Qt not available ({exc})")
    lines.append(f"Python {platform.python_version()} ({sys.platform}, {platform.machine()})")
    return "\n".join(lines)
