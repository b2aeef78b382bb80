"""The program's entry point: `--version`, the child-process dispatch a frozen bundle relies on
(before any Qt import, to a fixed list of modules), and Ctrl+C ending the window cleanly."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stderr_kit import unexpected_stderr

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=120, **kwargs)


def test_version_names_the_app_commit_qt_and_python():
    proc = _run("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    app, qt, python = proc.stdout.strip().splitlines()
    commit = r"[0-9a-f]{7,40}(\+dirty)?" if shutil.which("git") and (ROOT / ".git").exists() else "unknown"
    assert re.fullmatch(rf"WeCom Archive Auditor \d+\.\d+\.\d+\S* \(commit {commit}\)", app), app
    assert re.fullmatch(r"Qt 6\.\d+\.\d+ \(PySide6 6\.\d+\.\d+\)", qt), qt
    assert python.startswith(f"Python {sys.version_info.major}.{sys.version_info.minor}.")


def test_a_built_wheel_reports_its_stamp(tmp_path, monkeypatch):
    import app.version as version

    (tmp_path / version.BUILD_INFO).write_text('{"version": "9.8.7", "commit": "abcdef123456", "built": "2025-01-02"}')
    monkeypatch.setattr(version, "resource_dir", lambda: tmp_path)
    version.build_info.cache_clear()
    try:
        first = version.version_report().splitlines()[0]
    finally:
        version.build_info.cache_clear()
    assert first == "WeCom Archive Auditor 9.8.7 (commit abcdef123456, built 2025-01-02)"


def test_child_flag_and_modules_match_the_core():
    import importlib

    import app.__main__ as entry
    from app.core import processes
    from app.core.export.pdf_process import MODULE as PDF_MODULE
    from app.core.sdk.hosted import HOST_MODULE
    from app.core.sync.index_process import INDEX_MODULE
    from app.core.sync.process import SYNC_MODULE

    assert entry.CHILD_FLAG == processes.CHILD_FLAG
    assert set(entry.CHILD_MODULES) == {HOST_MODULE, SYNC_MODULE, INDEX_MODULE, PDF_MODULE}
    for module in entry.CHILD_MODULES:
        assert callable(importlib.import_module(module).main)


@pytest.mark.parametrize("args", [("--child-process", "os"), ("--child-process", "app.cli"), ("--child-process",),
                                  ("--child-process", "app.core.sdk.host", "extra")])
def test_only_the_listed_child_modules_can_be_started(args):
    proc = _run(*args)
    assert proc.returncode == 2 and "--child-process" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("module", ["app.core.sdk.host", "app.core.sync.process"])
def test_a_child_runs_without_qt_and_never_opens_the_window(module):
    """What the frozen bundle does: the executable's entry point with the child flag. The child
    serves its pipe (closed here at once, so it ends) and has not imported Qt when it ends."""
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.__stderr__.write('QT=%s\\n' % any(m.startswith('PySide6') for m in sys.modules)))\n"
             f"sys.argv = ['wecom-auditor', '--child-process', {module!r}]\n"
             "import runpy\n"
             "runpy.run_module('app', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          stdin=subprocess.DEVNULL, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    assert "QT=False" in proc.stderr, proc.stderr


def _log_text(data_dir: Path) -> str:
    return "".join(p.read_text("utf-8", "replace") for p in data_dir.rglob("*.log"))


def _wait_for(condition, timeout: float, proc: subprocess.Popen) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the window exited with {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_ctrl_c_closes_the_window_cleanly(tmp_path):
    data = tmp_path / "data"
    env = {"WECOM_AUDITOR_DATA_DIR": str(data), "QT_QPA_PLATFORM": "offscreen", "LC_ALL": "C.UTF-8"}
    assert _run("demo", "--messages", "60", env=env).returncode == 0  # no-login: the window opens at once
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: "user interface in" in _log_text(data), 60, proc)
        time.sleep(1)  # the main window is up after the translators
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (out, err)
    assert unexpected_stderr(err) == [] and out == ""
    log = _log_text(data)
    assert "interrupted (Ctrl+C)" in log and "Traceback" not in log
