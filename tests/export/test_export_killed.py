"""A killed export (SIGKILL at any moment) leaves nothing that looks like a package and no plaintext
others can read; the attempt is in the audit trail; the next start (or the next export) removes what
it left and records the interruption; a package that reached its path without its record is named
by verify and removed by the cleanup."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.actor import Actor
from app.core.auth import AuditTrail
from app.core.auth.audit import AuditFilter
from app.core.auth.roles import ROLES
from app.core.export import (
    JOURNAL_DIR,
    Selection,
    clean_interrupted_exports,
    export_package,
    export_records,
    known_keys,
    verify_package,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL")

ROOT = Path(__file__).resolve().parents[2]
AUDITOR = Actor("auditor", roles=frozenset({"auditor"}))
CHILD = r"""
import os, sys, time
from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.context import AppContext
from app.core.export import Selection, export_package
import app.core.export.package as package

data, sid, out, mode = sys.argv[1:]
ctx = AppContext(data)

def die():
    os.kill(os.getpid(), 9)

if mode == "after-rename":  # between the final rename and the commit of its record
    real = os.rename
    def rename(a, b):
        real(a, b)
        if str(b) == out:
            die()
    package.os.rename = rename
elif mode == "torn-journal":  # half of the journal's fingerprint line written, then killed
    real_write = os.write
    def write(fd, data):
        if b"fingerprint" in data and "exports-in-progress" in os.readlink(f"/proc/self/fd/{fd}"):
            real_write(fd, data[:len(data) // 2])
            die()
        return real_write(fd, data)
    package.os.write = write
elif mode == "after-zip":  # a complete signed zip in the staging folder, not yet renamed
    real_zip = package._zip_folder
    def zipped(*a, **k):
        real_zip(*a, **k)
        die()
    package._zip_folder = zipped
print("ready", flush=True)
export_package(ctx, Actor("os:killed", roles=frozenset(ROLES), workstation="test-host"),
               Selection(session_ids=(sid,)), out, pdf=False)
print("done", flush=True)
"""


@pytest.fixture
def archive(export_archive, tmp_path):
    """A copy of the export test archive of our own (the children write to it)."""
    data, _url, info = export_archive
    copy = tmp_path / "data"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("corpus"))
    return copy, info["session_id"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE": "kill-test passphrase"}


def _start(data: Path, sid: str, out: Path, mode: str = "run") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(data), sid, str(out), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()[-3000:]
    return proc


def _ctx(data: Path):
    from app.core.context import AppContext

    return AppContext(data)


def _starts(ctx) -> int:
    return len([e for e in AuditTrail(ctx.db).entries(AUDITOR, AuditFilter(actions=frozenset({"export.start"})),
                                                      limit=1000) if e.account == "os:killed"])


def _interrupted(ctx, out: Path) -> list:
    return [e for e in AuditTrail(ctx.db).entries(AUDITOR, AuditFilter(actions=frozenset({"export"})), limit=1000)
            if e.outcome == "failed" and e.detail.get("path") == str(out) and "interrupted" in e.detail.get("error", "")]


def _check_after_kill(ctx, data: Path, out: Path, starts_before: int) -> str:
    """The invariants right after the kill, before any cleanup. Returns what was found at ``out``."""
    staging_re = re.compile(re.escape(f".{out.name}.export-") + r"[0-9a-f]{12}")
    left = sorted(p.name for p in out.parent.iterdir())
    for name in left:
        assert name == out.name or staging_re.fullmatch(name), left  # nothing else, no "*.partial-*"
    for name in left:
        if name != out.name:
            mode = (out.parent / name).stat().st_mode
            assert stat.S_ISDIR(mode) and mode & 0o077 == 0, oct(mode)  # plaintext never readable by others
    journals = list((data / JOURNAL_DIR).glob("*.json")) if (data / JOURNAL_DIR).is_dir() else []
    if left or journals:
        assert _starts(ctx) == starts_before + 1  # the attempt is in the audit trail
    if not (out.exists() or out.is_symlink()):
        return "nothing"
    recorded = export_records(ctx.db, fingerprint=verify_package(out).fingerprint, limit=1)

    def is_recorded(fp, key):
        return bool(export_records(ctx.db, fingerprint=fp, key_fingerprint=key, limit=1))

    report = verify_package(out, known_key_fingerprints=known_keys(ctx.db) | {verify_package(out).key_fingerprint},
                            is_recorded=is_recorded)
    if recorded:
        assert report.ok, report.problems
        return "recorded"
    assert len(report.problems) == 1 and report.problems[0].startswith("not recorded:"), report.problems
    return "unrecorded"


def _check_after_cleanup(ctx, data: Path, out: Path, found: str) -> None:
    notes = clean_interrupted_exports(ctx)
    left = sorted(p.name for p in out.parent.iterdir())
    if found == "recorded":
        assert left == [out.name]
    else:
        assert left == [], left
        assert not out.exists()
        if found == "unrecorded":
            assert any("never recorded and was removed" in n for n in notes), notes
    assert not list((data / JOURNAL_DIR).glob("*.json"))
    if found != "recorded" and notes:
        assert _interrupted(ctx, out)


def test_sigkill_at_random_moments(archive, tmp_path):
    data, sid = archive
    ctx = _ctx(data)
    try:
        # one run to the end, to know how long an export takes
        (tmp_path / "out").mkdir()
        proc = _start(data, sid, tmp_path / "out" / "full.zip")
        started = time.monotonic()  # from "ready": the export itself
        assert proc.wait(120) == 0, proc.stderr.read().decode()[-3000:]
        duration = time.monotonic() - started
        assert verify_package(tmp_path / "out" / "full.zip", known_key_fingerprints=known_keys(ctx.db)).ok
        seed = random.randrange(1 << 30)
        rng = random.Random(seed)
        seen = set()
        for n in range(5):
            folder = tmp_path / f"k{n}"
            folder.mkdir()
            out = folder / ("pkg.zip" if n % 2 else "pkg")
            before = _starts(ctx)
            proc = _start(data, sid, out)
            time.sleep(rng.uniform(0, duration))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            found = _check_after_kill(ctx, data, out, before)
            seen.add(found)
            _check_after_cleanup(ctx, data, out, found)
        print(f"seed {seed}: outcomes {sorted(seen)}")
    finally:
        ctx.close()


@pytest.mark.parametrize("mode, as_zip", [("after-rename", False), ("after-rename", True), ("after-zip", True),
                                         ("torn-journal", False), ("torn-journal", True)])
def test_sigkill_in_the_narrow_windows(archive, tmp_path, monkeypatch, mode, as_zip):
    """Killed right after the rename (the record not committed): verify says "not recorded" and the
    cleanup removes it. Killed with a complete signed zip in staging: nothing outside the 0700
    staging folder; the next export removes it. Killed while the journal took the fingerprint (its
    line torn): the record written before still leads the cleanup to the staging folder."""
    data, sid = archive
    monkeypatch.setenv("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE", _env()["WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE"])
    ctx = _ctx(data)
    try:
        folder = tmp_path / "out"
        folder.mkdir()
        out = folder / ("pkg.zip" if as_zip else "pkg")
        before = _starts(ctx)
        proc = _start(data, sid, out, mode)
        assert proc.wait(120) == -signal.SIGKILL, proc.stderr.read().decode()[-3000:]
        found = _check_after_kill(ctx, data, out, before)
        assert found == ("unrecorded" if mode == "after-rename" else "nothing")
        if mode in ("after-rename", "torn-journal"):
            if mode == "torn-journal":  # killed with the bag (or the zip) built in its staging folder
                assert [p for p in folder.iterdir() if p.name.startswith(f".{out.name}.export-")]
            _check_after_cleanup(ctx, data, out, found)
            assert _interrupted(ctx, out)
        else:
            (staging,) = [p for p in folder.iterdir() if p.name.startswith(".pkg.zip.export-")]
            assert (staging / "pkg.zip").is_file()  # complete and signed, but only in the private staging folder
            export_package(ctx, Actor("os:next", roles=frozenset(ROLES), workstation="test-host"),
                           Selection(session_ids=(sid,)), folder / "next", pdf=False)  # cleans up first
            assert sorted(p.name for p in folder.iterdir()) == ["next"]
            assert _interrupted(ctx, out)
    finally:
        ctx.close()


def test_a_running_export_is_not_cleaned_up(archive, tmp_path):
    """The cleanup leaves an export that is still running (its journal is locked) alone."""
    data, sid = archive
    ctx = _ctx(data)
    try:
        from app.core.export.package import _Journal

        journal = _Journal(data, "0123456789ab", {"token": "0123456789ab", "out": str(tmp_path / "x"),
                                                  "staging": str(tmp_path / ".x.export-0123456789ab")})
        (tmp_path / ".x.export-0123456789ab").mkdir()
        assert clean_interrupted_exports(ctx) == []
        assert (tmp_path / ".x.export-0123456789ab").is_dir()
        journal.close()
        assert not journal.path.exists()
    finally:
        ctx.close()


def test_a_large_selection_is_cleaned_up(archive, tmp_path):
    """A journal holding a selection of many msgids (megabytes) is read whole: its export's staging
    folder is removed and the interruption recorded."""
    data, _sid = archive
    ctx = _ctx(data)
    try:
        from app.core.export.package import _Journal

        staging = tmp_path / ".x.export-0123456789ab"
        msgids = [f"{n:016x}_{'m' * 40}" for n in range(100_000)]
        journal = _Journal(data, "0123456789ab", {"token": "0123456789ab", "out": str(tmp_path / "x"),
                                                  "staging": str(staging), "actor": "os:killed",
                                                  "selection": Selection(msgids=tuple(msgids)).describe()})
        journal.update(fingerprint="0" * 64)
        assert journal.path.stat().st_size > 5 << 20
        (staging / "spool").mkdir(parents=True)
        os.close(journal.fd)  # the process ended without closing its export
        assert len(clean_interrupted_exports(ctx)) == 1
        assert not staging.exists() and not journal.path.exists()
        assert _interrupted(ctx, tmp_path / "x")
    finally:
        ctx.close()


def test_the_window_cleans_up_at_start(archive, tmp_path, qapp):
    """What a killed export left (its journal, its staging folder) is gone once the app has started."""
    import json

    from app.ui.app import run_windows

    data, _sid = archive
    out = tmp_path / "out" / "pkg"
    out.parent.mkdir()
    staging = out.parent / ".pkg.export-00112233aabb"
    (staging / "pkg" / "data").mkdir(parents=True)
    (staging / "pkg" / "data" / "loadfile.csv").write_text("plaintext evidence")
    (data / JOURNAL_DIR).mkdir(exist_ok=True)
    (data / JOURNAL_DIR / "00112233aabb.json").write_text(json.dumps(
        {"token": "00112233aabb", "out": str(out), "staging": str(staging), "actor": "os:killed"}))
    ctx = _ctx(data)
    try:
        assert run_windows(qapp, ctx, sign_in=lambda ctx, **kw: None) == 0
        assert list(out.parent.iterdir()) == [] and not list((data / JOURNAL_DIR).iterdir())
        assert _interrupted(ctx, out)
    finally:
        ctx.close()
