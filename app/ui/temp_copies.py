"""Private temporary folders for the decrypted copies the desktop opens ("Open" on a file or voice).

    folder = new_folder()      # wecom-auditor-open-<pid>-xxxx in the temp folder, 0700
    remove_own()               # at quit: this run's folders (a file still held open stays, see below)
    remove_stale()             # at start: folders of runs that ended without quitting (a crash, a kill)

A copy is plain message content outside the archive: it lived in the temp folder until the OS
cleaned it (never, on many desktops). Each folder names the process that made it, so a start removes
only the folders of processes that are gone, never those of another window still open; on Windows
a file a program still holds cannot be deleted at quit, and goes at the next start instead.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "wecom-auditor-open-"
PRINT_PREFIX = "wecom-auditor-print-"  # the Print panel's transcripts (app/ui/print_panel.py)
PREFIXES = (PREFIX, PRINT_PREFIX)
_NAME = re.compile("(?:" + "|".join(re.escape(p) for p in PREFIXES) + r")(\d+)-")
OLD_AFTER_SECONDS = 24 * 3600  # folders of versions that did not name the process: gone after a day
_own: list[Path] = []


def new_folder(prefix: str = PREFIX) -> Path:
    """A fresh private folder (mode 0700) for one copy (``prefix``: one of PREFIXES), removed by
    :func:`remove_own` at quit."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown temporary folder prefix {prefix!r}")
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    _own.append(folder)
    return folder


def discard(folder: Path) -> None:
    """Remove one folder now (its copy was not opened after all)."""
    shutil.rmtree(folder, ignore_errors=True)
    if folder in _own:
        _own.remove(folder)


def remove_own() -> int:
    """Remove this run's folders; returns how many went (a folder whose file is still held open by
    a program on Windows stays, and goes at the next start)."""
    removed = 0
    for folder in list(_own):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            _own.remove(folder)
            removed += 1
    return removed


def remove_stale(temp_dir: Path | None = None, now: float | None = None) -> int:
    """Remove the folders other runs left: of processes no longer running, and (from versions that
    did not name the process) older than a day. Only the current user's; returns how many went."""
    root = Path(temp_dir or tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PREFIXES):
            continue
        try:
            info = entry.lstat()
            if not entry.is_dir() or entry.is_symlink() or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                continue
        except OSError:
            continue
        m = _NAME.match(entry.name)
        if m is not None:
            pid = int(m.group(1))
            if pid == os.getpid() or _running(pid):
                continue
        elif now - info.st_mtime < OLD_AFTER_SECONDS:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed += 1
    if removed:
        log.info("removed %d temporary copies left by earlier runs", removed)
    return removed


def _running(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would end the process there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        try:
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process with that number: running
        return True
    except OSError:
        return False
    return True
