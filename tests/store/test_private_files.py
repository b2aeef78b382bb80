"""Files at rest are private to the user on POSIX: after `wecom-auditor demo` and `sync` (run as a
desktop session would, with the common umask 022) every folder under the data folder is 0700 and
every file has no group or other bits (0600; media files are 0400) — the archive and its -wal/-shm,
settings, logs, media, the spool, the search index. Files left readable by an earlier version are
fixed at the next start; a file of the user's own in a --data-dir folder is left alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WECOM_AUDITOR_TOKEN"}
    env["WECOM_AUDITOR_DATA_DIR"] = str(data)
    proc = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=ROOT, umask=0o022)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _exposed(root: Path) -> list[str]:
    """Every path under ``root`` (and root) that the group or others may read, write or enter."""
    out = []
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_mode & 0o077:
            out.append(f"{oct(stat.S_IMODE(st.st_mode))} {path.relative_to(root.parent)}")
    return out


def _expose(path: Path) -> None:
    os.chmod(path, 0o755 if path.is_dir() else 0o644)


def test_demo_and_sync_leave_nothing_readable_by_others(tmp_path):
    data = tmp_path / "data"
    _cli(data, "demo", "--messages", "200")
    _cli(data, "sync", "--workers", "1")
    names = {p.relative_to(data).as_posix() for p in data.rglob("*")}
    assert {"archive.db", "settings.json", "logs/wecom-auditor.log", "media", "cache"} <= names
    assert any(n.startswith("media/") and n.count("/") >= 3 for n in names)  # stored media files
    assert any(n.startswith("archive.db.search/") for n in names)  # the search index
    assert _exposed(data) == []
    # a database left open by a running process keeps its -wal/-shm: SQLite gives them the db's mode
    assert stat.S_IMODE((data / "archive.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "logs").stat().st_mode) == 0o700


def test_files_left_readable_by_an_earlier_version_are_fixed_at_start(tmp_path):
    data = tmp_path / "data"
    _cli(data, "demo", "--messages", "200")
    _cli(data, "sync", "--workers", "1")
    own = data / "notes-of-the-user.txt"  # not the app's: --data-dir may be a folder with other files
    own.write_text("mine")
    # an earlier version: everything readable by others, and it never marked the folder as fixed
    for path in [data, *data.rglob("*")]:
        if not path.is_symlink():
            _expose(path)
    (data / ".private-v1").unlink()
    _cli(data, "runs")
    assert _exposed(data) == [f"0o644 {own.relative_to(tmp_path)}"]

    # later starts still fix the archive, the settings, the logs and the app's folders
    for path in (data, data / "archive.db", data / "settings.json", data / "logs", data / "logs" / "wecom-auditor.log",
                 data / "media", data / "cache"):
        _expose(path)
    _cli(data, "runs")
    assert _exposed(data) == [f"0o644 {own.relative_to(tmp_path)}"]
