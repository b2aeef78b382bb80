"""A backup killed (SIGKILL) at random moments leaves the previous backup valid and no folder that
looks like a backup; the next backup removes what the killed one left."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from archive_kit import make_archive

from app.core.backup import backup_ids, make_backup, verify_backup
from app.core.backup.repository import STAGING_PREFIX

ROOT = Path(__file__).resolve().parents[2]


def _backup(repo: Path, data: Path, url: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app", "backup", "--to", str(repo), "--full", "--data-dir",
                             str(data), "--db", url], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _writing(proc: subprocess.Popen, repo: Path) -> float:
    """Seconds until ``proc`` has a backup folder being written (or has ended)."""
    start = time.monotonic()
    while proc.poll() is None and not any(p.name.startswith(STAGING_PREFIX) for p in repo.iterdir()):
        time.sleep(0.002)
    return time.monotonic() - start


def test_killed_backups_leave_the_previous_one_valid(tmp_path):
    ctx, actor = make_archive(tmp_path / "data", messages=80)
    repo = tmp_path / "backups"
    first = make_backup(ctx, actor, repo, full=True)
    token = ctx.accounts.issue_token(actor).token
    url = ctx.db_url
    ctx.close()
    env = {**os.environ, "WECOM_AUDITOR_TOKEN": token, "WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE": "kill-test-passphrase"}
    # How long a backup writes on this machine, from a complete one: the kills fall inside that
    # span (a fixed sleep missed it once the process started faster than the sleep).
    proc = _backup(repo, tmp_path / "data", url, env)
    _writing(proc, repo)
    started = time.monotonic()
    assert proc.wait() == 0
    writes = time.monotonic() - started
    rng = random.Random(20)
    kills = 0
    for _ in range(3):
        proc = _backup(repo, tmp_path / "data", url, env)
        _writing(proc, repo)
        time.sleep(rng.uniform(0.0, 0.8) * writes)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        report = verify_backup(repo, first.backup_id)
        assert report.ok, report.problems
        for bid in backup_ids(repo):  # whatever completed is valid too
            assert verify_backup(repo, bid).ok
    from app.core.context import AppContext

    ctx = AppContext(tmp_path / "data", url)
    try:
        make_backup(ctx, ctx.accounts.actor_from_token(token), repo)
    finally:
        ctx.close()
    assert not [p for p in repo.iterdir() if p.name.startswith(STAGING_PREFIX)]  # the leftovers were removed
    assert kills >= 1


def _restore(repo: Path, target: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app", "restore", str(repo), "--data-dir", str(target), "--json"],
                            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_killed_restore_is_finished_by_running_it_again(tmp_path):
    """Killed at random moments (in the marker's writing too), a restore into a fresh folder is
    finished by the same command, every time: the marker never makes it refuse its own work."""
    ctx, actor = make_archive(tmp_path / "data", messages=80)
    repo = tmp_path / "backups"
    make_backup(ctx, actor, repo, full=True)
    ctx.close()
    proc = _restore(repo, tmp_path / "timed")
    started = time.monotonic()
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    duration = time.monotonic() - started
    rng = random.Random(7)
    kills = 0
    for n in range(4):
        target = tmp_path / f"restored{n}"
        for _ in range(2):  # killed twice, the second time (if it gets there) while resuming
            proc = _restore(repo, target)
            time.sleep(rng.uniform(0.3, 1.0) * duration)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        proc = _restore(repo, target)
        out, err = proc.communicate()
        assert proc.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
        assert not (target / ".restore-in-progress.json").exists()
    assert kills >= 2
