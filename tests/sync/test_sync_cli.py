"""End-to-end syncs through the CLI, in fresh processes (the simulator's faults count per process),
on SQLite and on MariaDB: exactly the corpus' entries, once, whatever fails on the way."""

from __future__ import annotations

import hashlib
import json

import pytest
from sync_kit import Truth, archive_state, corpus_with_faults, run_cli, sync_json

MESSAGES = 1200


@pytest.fixture(scope="module")
def base_corpus(tmp_path_factory):
    from native.corpus import generate_corpus

    path = tmp_path_factory.mktemp("gen") / "corpus"
    generate_corpus(path, messages=MESSAGES, seed=7)
    return path


@pytest.fixture
def setup(tmp_path, base_corpus, db_url):
    """Returns a function that makes a corpus with faults and a demo profile serving it."""

    def make(faults=(), name="corpus"):
        corpus = corpus_with_faults(base_corpus, tmp_path / name, faults)
        data = tmp_path / "data"
        run_cli("demo", "--corpus", str(corpus), data_dir=data, db_url=db_url)
        return corpus, data

    return make


def _media_truth(corpus):
    media_map = json.loads((corpus / "media.json").read_text())
    truth = json.loads((corpus / "truth.json").read_text())
    bad = set(truth.get("bad_md5_sdkfileids", truth.get("md5_mismatch_sdkfileids", [])))
    return media_map, bad


def _check_media(state, corpus, data, expired=()):
    media_map, bad = _media_truth(corpus)
    for m in state["media"]:
        fid = m["sdkfileid"]
        if fid in expired:
            assert m["status"] == "expired", m
        elif fid in bad:
            assert m["status"] == "failed" and "md5" in (m["last_error"] or ""), m
        else:
            assert m["status"] == "stored", m
            stored = data / "media" / m["storage_key"]
            real = corpus / media_map[fid]
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == m["sha256"]
            assert stored.read_bytes() == real.read_bytes()


def test_full_sync_stores_exactly_the_corpus_then_nothing_new(setup, db_url):
    corpus, data = setup()
    truth = Truth(corpus)
    first = sync_json(data, db_url)
    state = archive_state(db_url)
    assert state["messages"] == truth.archived()
    assert state["raw_ok"]
    assert set(state["quarantine"]) == truth.quarantined_seqs() and truth.quarantined_seqs()
    assert all(stage in ("decrypt", "key") for stage, _ in state["quarantine"].values())
    assert state["checkpoint"] == truth.entries[-1].seq
    assert state["session_total"] == state["in_sessions"]
    _check_media(state, corpus, data)
    assert first["stored"] == len(truth.archived()) and first["fetched"] == len(truth.entries)
    assert first["quarantined"] == len(truth.quarantined_seqs())
    assert first["media_stored"] > 0 and first["media_failed"] >= 2 and first["media_pending"] == 0

    second = sync_json(data, db_url)
    assert (second["fetched"], second["stored"], second["quarantined"], second["media_stored"]) == (0, 0, 0, 0)
    assert archive_state(db_url)["messages"] == truth.archived()


def test_faults_end_as_retries_quarantine_and_media_status(setup, db_url, base_corpus):
    entries = Truth(base_corpus).entries
    media_map, bad = _media_truth(base_corpus)
    expired = next(fid for fid in media_map if fid not in bad)
    corrupt, malformed = entries[130].seq, entries[140].seq
    faults = [
        {"kind": "call_error", "call": "GetChatData", "nth": 2, "code": 10001, "times": 2},
        {"kind": "call_timeout", "call": "GetChatData", "nth": 4},  # the 3rd retry of batch 2
        {"kind": "call_error", "call": "GetMediaData", "nth": 3, "code": 10002, "times": 2},
        {"kind": "corrupt_ciphertext", "seq": corrupt},
        {"kind": "malformed_json", "seq": malformed},
        {"kind": "media_expired", "sdkfileid": expired},
    ]
    corpus, data = setup(faults)
    settings = json.loads((data / "settings.json").read_text())
    settings["corps"][0]["timeout"] = 1  # the call_timeout fault blocks for the call's timeout
    (data / "settings.json").write_text(json.dumps(settings))
    truth = Truth(corpus)
    report = sync_json(data, db_url)
    state = archive_state(db_url)
    assert report["outcome"] == "succeeded" and report["retries"] >= 3
    assert state["messages"] == truth.archived(exclude_seqs={corrupt, malformed})
    assert state["quarantine"][corrupt][0] == "decrypt" and "10006" in state["quarantine"][corrupt][1]
    assert state["quarantine"][malformed][0] == "parse"
    _check_media(state, corpus, data, expired={expired})


def test_a_non_retryable_error_stops_the_run_and_loses_nothing(setup, db_url):
    corpus, data = setup([{"kind": "call_error", "call": "GetChatData", "nth": 1, "code": 10009}])
    proc = run_cli("sync", "--json", data_dir=data, db_url=db_url, check=False)
    assert proc.returncode == 1
    assert "trusted IP" in proc.stderr and "Traceback" not in proc.stderr
    state = archive_state(db_url)
    assert state["messages"] == {} and not state["checkpoint"]
    # the administrator fixes it; the next run archives everything
    corpus.joinpath("corpus.json").write_text(json.dumps(
        {**json.loads(corpus.joinpath("corpus.json").read_text()), "faults": []}))
    sync_json(data, db_url, "--no-media")
    assert archive_state(db_url)["messages"] == Truth(corpus).archived()
    runs = [json.loads(line) for line in run_cli("runs", "--json", data_dir=data, db_url=db_url).stdout.splitlines()]
    assert [r["outcome"] for r in runs] == ["succeeded", "failed"]
    assert "10009" in runs[1]["error"]


def test_quarantine_retry_after_the_missing_key_is_installed(setup, db_url):
    corpus, data = setup()
    truth = Truth(corpus)
    sync_json(data, db_url, "--no-media")
    missing = sorted(truth.uninstalled)
    assert missing and set(archive_state(db_url)["quarantine"]) == truth.quarantined_seqs()
    conf = json.loads((corpus / "corpus.json").read_text())
    env = {f"WECOM_AUDITOR_PRIVATE_KEY_{conf['corpid'].upper()}_V{v}": "@" + str(corpus / conf["keys"][str(v)]["private"])
           for v in missing}
    out = run_cli("quarantine", "--retry", data_dir=data, db_url=db_url, env=env).stdout
    assert f"{len(truth.quarantined_seqs())} now archived" in out
    state = archive_state(db_url)
    assert state["quarantine"] == {}
    everything = Truth(corpus, uninstalled_versions=())
    everything.uninstalled = set()
    assert state["messages"] == everything.archived()


def test_sessions_and_messages_commands(setup, db_url):
    corpus, data = setup()
    sync_json(data, db_url, "--no-media")
    sessions = [json.loads(line) for line in
                run_cli("sessions", "--json", data_dir=data, db_url=db_url).stdout.splitlines()]
    assert {s["type"] for s in sessions} >= {"internal", "external", "group"}
    last = [s["last_msgtime"] for s in sessions]
    assert last == sorted(last, reverse=True)
    group = next(s for s in sessions if s["type"] == "group")
    msgs = [json.loads(line) for line in run_cli("messages", "--session", group["session_id"], "--json",
                                                 "--limit", "100000", data_dir=data, db_url=db_url).stdout.splitlines()]
    assert len(msgs) == group["message_count"]
    assert all(m["session_id"] == group["session_id"] for m in msgs)
    for m in msgs:
        assert hashlib.sha256(m["raw"].encode()).hexdigest() == m["sha256"]
    text_out = run_cli("messages", "--session", group["session_id"], data_dir=data, db_url=db_url).stdout
    assert text_out.count("\n") == len(msgs)
