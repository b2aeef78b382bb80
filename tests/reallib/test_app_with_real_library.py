"""The app with Tencent's real library, through every path that uses it, against the stand-in.

The pytest process has loaded Qt (pytest-qt), so it is also "the window's process": the real library
would abort it if any path loaded it here. Every test below therefore also proves that the path
keeps the library in SDK host processes.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import realformat as rf
from standin import Answer, StandIn, encrypt_item
from sync_kit import run_cli

from app.core.actor import Actor
from app.core.sdk import SdkResponseError
from app.core.sdk.hosted import HostedSdk, LibrarySpec, check_library

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def make_corpus(tmp_path: Path, messages: int = 150, seed: int = 21) -> tuple[Path, dict]:
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=messages, seed=seed, media_pool=6)
    return corpus, json.loads((corpus / "corpus.json").read_text())


def secret_env(corpus: Path, conf: dict, secret: str | None = None) -> dict:
    """A headless server's secrets: the corp secret and the installed private keys from the environment."""
    cid = conf["corpid"].upper()
    env = {f"WECOM_AUDITOR_CORP_SECRET_{cid}": secret or conf["secret"]}
    for version, entry in conf["keys"].items():
        if entry.get("install", True):
            env[f"WECOM_AUDITOR_PRIVATE_KEY_{cid}_V{version}"] = "@" + str(corpus / entry["private"])
    return env


def configure(tmp_path: Path, corpus: Path, conf: dict, real_sdk: Path, s: StandIn, *, trust_ca: bool = True,
              timeout: int = 10) -> tuple[Path, str]:
    """A data folder whose corp uses the real library through the stand-in, set up with the CLI."""
    data, db = tmp_path / "data", f"sqlite:///{tmp_path / 'archive.db'}"
    run_cli("demo", "--corpus", str(corpus), data_dir=data, db_url=db)  # an account and the corp
    args = ["corps", "set", conf["corpid"], "--library", str(real_sdk), "--proxy", s.proxy_url,
            "--timeout", str(timeout)]
    if trust_ca:  # a company proxy that inspects TLS on purpose: its CA is trusted explicitly
        args += ["--ca-file", str(s.ca_pem)]
    run_cli(*args, data_dir=data, db_url=db)
    return data, db


def poison(src, seq: int, kind: str) -> None:
    """Serve the entry ``seq`` as one that the real DecryptData dies on ("crash": a key whose split
    point lies past the end of the message) or that is too short to be handed to it ("short")."""
    index = next(i for i, e in enumerate(src.entries) if e.seq == seq)
    e = src.entries[index]
    if kind == "crash":
        key = rf.wrap_random_key(rf.KeyInfo(b"k" * 32, pre_len=40, s_len=20, end_len=0).encode())
        item = encrypt_item(e.seq, e.msgid or "", e.publickey_ver, src.public_keys[e.publickey_ver], b"{}",
                            random_key=key)
        item["encrypt_chat_msg"] = (b"H" * 13 + rf.wrap_key(key) + b"j" * 50).decode()
    else:
        item = dict(src.item(index), encrypt_chat_msg="tooshort")
    src._items[seq] = item


def archive_rows(db_url: str) -> tuple[dict, dict, list]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        msgs = {r.msgid: r.raw_sha256 for r in conn.execute(text("SELECT msgid, raw_sha256 FROM messages"))}
        quarantine = {r.seq: (r.stage, r.error) for r in conn.execute(
            text("SELECT seq, stage, error FROM quarantine WHERE resolved_at IS NULL"))}
        media = [tuple(r) for r in conn.execute(text("SELECT sdkfileid, status, md5_matched, last_error FROM media"))]
    engine.dispose()
    return msgs, quarantine, media


def installed(conf: dict) -> set[int]:
    return {int(v) for v, e in conf["keys"].items() if e.get("install", True)}


# ------------------------------------------------------------------------------------ the sync

def test_a_corpus_syncs_through_the_real_library_and_a_crashing_entry_costs_only_itself(real_sdk, tmp_path):
    corpus, conf = make_corpus(tmp_path)
    with StandIn() as s:
        src = s.serve_corpus(corpus)
        ok_versions = installed(conf)
        seqs = [e.seq for e in src.entries if e.publickey_ver in ok_versions]
        crash, short = {seqs[10], seqs[100]}, {seqs[50]}
        for seq in crash:
            poison(src, seq, "crash")
        for seq in short:
            poison(src, seq, "short")
        # WeCom asks to slow down, then an overloaded proxy answers HTTP 200 with text: both are tried again.
        s.getchatdata.append(Answer.error(45009, "api freq out of limit"))
        s.getchatdata.append(Answer.text("Service Unavailable"))
        data, db = configure(tmp_path, corpus, conf, real_sdk, s)
        proc = run_cli("sync", "--json", data_dir=data, db_url=db, env=secret_env(corpus, conf), check=False)
        lines = proc.stdout.splitlines()
        assert proc.returncode == 0 and len(lines) == 1, proc.stdout + proc.stderr
        report = json.loads(lines[0])
        assert report["outcome"] == "succeeded" and report["error"] is None
        assert report["retries"] >= 2  # the two "try later" answers

        bad = crash | short
        expected = {e.msgid: hashlib.sha256(src.plaintext(e.raw_msg, e.seq)).hexdigest() for e in src.entries
                    if e.publickey_ver in ok_versions and e.seq not in bad}
        msgs, quarantine, media = archive_rows(db)
        assert msgs == expected  # every other entry, byte for byte as the real DecryptData returned it
        for seq in crash:
            stage, error = quarantine[seq]
            assert stage == "decrypt" and "crashed" in error and "SIGABRT" in error, error
        for seq in short:
            assert quarantine[seq][0] == "decrypt" and "fewer than 13" in quarantine[seq][1]
        assert report["quarantined"] == len(quarantine)
        truth = json.loads((corpus / "truth.json").read_text())
        mismatched = {src.real_sdkfileid(f) for f in truth["md5_mismatch_sdkfileids"]}
        assert media
        for fid, status, md5_matched, error in media:  # fetched through the real GetMediaData, verified
            if fid in mismatched:  # the corpus sends a wrong md5sum for these on purpose
                assert status == "failed" and "md5 mismatch" in error
            else:
                assert status == "stored" and md5_matched in (1, True, None), (status, error)
        # The corp secret travelled only to the stand-in's gettoken (our own verified call and the SDK's).
        assert all(r.query.get("corpsecret") in (None, [conf["secret"]], conf["secret"]) for r in s.requests)

        again = json.loads(run_cli("sync", "--json", data_dir=data, db_url=db,
                                   env=secret_env(corpus, conf)).stdout)
        assert again["outcome"] == "succeeded" and again["stored"] == 0


def test_a_wrong_secret_is_named_within_five_seconds(real_sdk, tmp_path):
    corpus, conf = make_corpus(tmp_path, messages=20)
    with StandIn() as s:
        s.serve_corpus(corpus)
        data, db = configure(tmp_path, corpus, conf, real_sdk, s)
        started = time.monotonic()
        proc = run_cli("sync", "--json", data_dir=data, db_url=db,
                       env=secret_env(corpus, conf, secret="not-the-secret"), check=False)
        elapsed = time.monotonic() - started
        assert proc.returncode == 1
        report = json.loads(proc.stdout)  # exactly one JSON object, also on failure
        assert report["outcome"] == "failed" and report["stored"] == 0
        assert report["error"].startswith("The chat-archive Secret is wrong (WeCom errcode 40001)")
        assert "Traceback" not in proc.stderr and "Secret is wrong" in proc.stderr
        assert elapsed < 5, f"{elapsed:.1f} s"
        assert not s.calls("getchatdata"), "the library must not be handed a secret WeCom refused"


def test_an_intercepted_connection_stops_the_sync_before_the_secret_is_sent(real_sdk, tmp_path):
    """The library accepts any certificate for qyapi.weixin.qq.com; the app verifies it first. The
    stand-in's CA is not trusted here, exactly as a stranger's interception would not be."""
    corpus, conf = make_corpus(tmp_path, messages=20)
    with StandIn() as s:
        s.serve_corpus(corpus)
        data, db = configure(tmp_path, corpus, conf, real_sdk, s, trust_ca=False)
        proc = run_cli("sync", "--json", data_dir=data, db_url=db, env=secret_env(corpus, conf), check=False)
        report = json.loads(proc.stdout)
        assert proc.returncode == 1 and report["outcome"] == "failed"
        assert "failed certificate verification" in report["error"] and "intercepting" in report["error"]
        assert not s.calls("gettoken") and not s.calls("getchatdata"), "nothing may reach WeCom's endpoints"


def test_an_untrusted_ip_and_an_unreachable_wecom_are_sentences(real_sdk, tmp_path):
    corpus, conf = make_corpus(tmp_path, messages=20)
    with StandIn() as s:
        s.serve_corpus(corpus)
        data, db = configure(tmp_path, corpus, conf, real_sdk, s)
        s.gettoken.default = Answer.error(60020, "not allow to access from your ip")
        proc = run_cli("sync", "--json", data_dir=data, db_url=db, env=secret_env(corpus, conf), check=False)
        assert "trusted IP" in json.loads(proc.stdout)["error"]
    # The stand-in has stopped: nothing listens on its port any more.
    proc = run_cli("sync", "--json", data_dir=data, db_url=db, env=secret_env(corpus, conf), check=False)
    error = json.loads(proc.stdout)["error"]
    assert proc.returncode == 1 and error.startswith("Cannot reach WeCom (qyapi.weixin.qq.com) through the proxy")


def test_corps_test_checks_every_step_with_the_real_library(real_sdk, tmp_path):
    corpus, conf = make_corpus(tmp_path, messages=20)
    with StandIn() as s:
        s.serve_corpus(corpus)
        data, db = configure(tmp_path, corpus, conf, real_sdk, s)
        out = run_cli("corps", "test", "--json", data_dir=data, db_url=db, env=secret_env(corpus, conf)).stdout
        steps = [json.loads(line) for line in out.splitlines()]
        assert [(c["step"], c["ok"]) for c in steps] == [("library", True), ("keys", True), ("access", True),
                                                         ("archive", True)]
        assert "decrypts" in steps[-1]["message"]
        proc = run_cli("corps", "test", data_dir=data, db_url=db, check=False,
                       env=secret_env(corpus, conf, secret="wrong"))
        assert proc.returncode == 1 and "✗ access" in proc.stdout and "40001" in proc.stdout


# ------------------------------------------------------------------------------------ the SDK hosts

def test_the_librarys_network_error_becomes_the_real_reason(real_sdk):
    """Without our own gettoken check, the library itself says only 10001; the line it prints on
    stdout (GBK) tells the real reason, which the SDK host reads and the app names."""
    with StandIn(corpid="wwright", secret="right") as s:
        for corpid, secret, code, words in (("wwright", "wrong", 40001, "Secret is wrong"),
                                            ("wwother", "right", 40013, "corp ID is wrong")):
            sdk = HostedSdk(LibrarySpec(str(real_sdk)), corpid, secret, proxy=s.proxy_url, timeout=5)
            with sdk, pytest.raises(SdkResponseError) as info:
                sdk.get_chat_data(0, 10)
            assert info.value.code == code and not info.value.retryable and words in str(info.value)


def test_a_new_handle_fetches_a_new_token_after_42001(real_sdk, tmp_path):
    corpus, conf = make_corpus(tmp_path, messages=30)
    with StandIn() as s:
        s.serve_corpus(corpus)
        data, db = configure(tmp_path, corpus, conf, real_sdk, s)
        s.getchatdata.append(Answer.error(42001, "access_token expired"))
        report = json.loads(run_cli("sync", "--json", "--no-media", data_dir=data, db_url=db,
                                    env=secret_env(corpus, conf)).stdout)
        assert report["outcome"] == "succeeded" and report["retries"] >= 1
        # Our verified check, the first handle, and the new handle after 42001.
        assert len(s.calls("gettoken")) >= 3


def test_the_settings_check_loads_the_real_library_outside_this_qt_process(real_sdk, tmp_path):
    import sys

    assert "PySide6.QtCore" in sys.modules  # this process is a Qt process
    assert check_library(LibrarySpec(str(real_sdk))).ok
    bad = check_library(LibrarySpec(str(tmp_path / "nothing.so")))
    assert not bad.ok and "does not exist" in bad.message


# ------------------------------------------------------------------------------------ the window

@pytest.fixture
def window_ctx(tmp_path, real_sdk):
    """An AppContext (this Qt process) whose corp uses the real library through a stand-in."""
    from app.core.context import AppContext

    corpus, conf = make_corpus(tmp_path, messages=120)
    with StandIn() as s:
        s.serve_corpus(corpus)
        ctx = AppContext()
        corp, _ = ctx.setup_demo(corpus)
        corp.sdk_library, corp.simulator_corpus, corp.secrets_in_corpus = str(real_sdk), "", False
        corp.proxy, corp.ca_file, corp.timeout = s.proxy_url, str(s.ca_pem), 10
        ctx.save()
        yield ctx, ctx.settings.corp(corp.corpid), s, conf
        ctx.close()


def test_the_window_syncs_with_the_real_library_and_survives(qtbot, window_ctx):
    from app.ui.sync import SyncController

    ctx, corp, s, conf = window_ctx
    controller = SyncController(ctx, Actor.local())
    try:
        with qtbot.waitSignal(controller.sync_finished, timeout=180_000) as finished:
            assert controller.start(corp, workers=2)
        report = finished.args[0]
        assert report.outcome == "succeeded" and report.stored > 0 and report.media_stored > 0
        assert report.fetched == len(s.chat)

        s.gettoken.default = Answer.error(40001, "invalid credential")
        with qtbot.waitSignal(controller.sync_failed, timeout=60_000) as failed:
            assert controller.start(corp)
        en, zh = failed.args
        assert en.startswith("The chat-archive Secret is wrong") and "Secret 不正确" in zh
    finally:
        assert controller.shutdown()


def test_the_background_runner_fetches_media_with_the_real_library(qtbot, window_ctx):
    from sqlalchemy import select

    from app.core.jobs import TOPIC_MEDIA
    from app.core.store.models import FAILED, STORED, Media
    from app.ui.queue.runner import QueueRunner

    ctx, corp, s, conf = window_ctx
    report = ctx.make_syncer(corp, media=False, workers=1, actor=Actor.local()).run()
    assert report.outcome == "succeeded" and report.stored > 0
    runner = QueueRunner(ctx, topics=(TOPIC_MEDIA,))  # the window's runner: media jobs on its threads
    try:
        runner.start()

        def settled() -> bool:
            with ctx.db.read() as conn:
                rows = conn.execute(select(Media.status, Media.last_error)).all()
            return bool(rows) and all(st == STORED or (st == FAILED and "md5 mismatch" in (err or ""))
                                      for st, err in rows)

        qtbot.waitUntil(settled, timeout=120_000)
    finally:
        assert runner.shutdown()


def test_a_scheduled_sync_runs_the_real_library_in_a_sync_process(qtbot, window_ctx):
    """What the runner's sync.scheduled handler runs: the corp's plan in a sync process."""
    from app.core.sync.process import run_sync_process

    ctx, corp, s, conf = window_ctx
    progress = []
    report = run_sync_process(ctx.sync_plan(corp, media=False), progress=progress.append, niceness=10)
    assert report.outcome == "succeeded" and report.fetched == len(s.chat)
    assert progress and progress[-1].phase == "done"
