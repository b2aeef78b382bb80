"""Kill the sync with SIGKILL at 10 random moments, restart each time: the archive must end with
exactly the corpus' entries and media, on SQLite and on MariaDB."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from sync_kit import ROOT, Truth, archive_state, corpus_with_faults, run_cli, sync_json

KILLS = 10


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path, db_url):
    from native.corpus import generate_corpus

    base = tmp_path / "gen"
    generate_corpus(base, messages=4000, seed=11)
    corpus = corpus_with_faults(base, tmp_path / "corpus")
    data = tmp_path / "data"
    run_cli("demo", "--corpus", str(corpus), data_dir=data, db_url=db_url)
    rng = random.Random(20261127)
    cmd = [sys.executable, "-m", "app", "sync", "--json", "--data-dir", str(data), "--db", db_url]
    killed = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.5, 4.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sync and its worker processes, mid-flight
            killed += 1
        proc.wait()
    assert killed >= KILLS // 2, "the sync finished before most kills: make the corpus larger"
    final = sync_json(data, db_url)
    assert final["outcome"] == "succeeded"
    truth = Truth(corpus)
    state = archive_state(db_url)
    assert state["messages"] == truth.archived()
    assert set(state["quarantine"]) == truth.quarantined_seqs()
    assert state["session_total"] == state["in_sessions"]
    assert state["checkpoint"] == truth.entries[-1].seq
    bad = set(truth.truth.get("bad_md5_sdkfileids", truth.truth.get("md5_mismatch_sdkfileids", [])))
    for m in state["media"]:
        assert m["status"] == ("failed" if m["sdkfileid"] in bad else "stored"), m
    # no partial files left under media keys, and every stored object is intact
    import hashlib

    for m in state["media"]:
        if m["status"] == "stored":
            assert hashlib.sha256((data / "media" / m["storage_key"]).read_bytes()).hexdigest() == m["sha256"]
