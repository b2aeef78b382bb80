"""write_atomic: a writer killed at any moment leaves the old file or the new one, whole, and never a
file others can read."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.files import write_atomic

ROOT = Path(__file__).resolve().parents[1]
WRITER = r"""
import json, sys
from app.core.files import write_atomic
path = sys.argv[1]
n = 0
print("ready", flush=True)
while True:
    n += 1
    write_atomic(path, json.dumps({"n": n, "pad": "x" * (n % 7919) * 64}).encode())
"""


def test_replaces_whole_and_private(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, b"first")
    os.chmod(path, 0o644)
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    write_atomic(path, b"old")

    def fail(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_killed_at_random_moments_the_file_is_always_whole(tmp_path):
    path = tmp_path / "state.json"
    rng = random.Random(11)
    last = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.01, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        value = json.loads(path.read_text())  # whole: never torn, never empty
        assert value["pad"] == "x" * (value["n"] % 7919) * 64
        last = max(last, value["n"])
        for p in tmp_path.iterdir():  # a temporary left by the kill is private
            assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert last > 1
