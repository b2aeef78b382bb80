"""`wecom-auditor jobs` and `wecom-auditor worker` on every queue backend (in this process through
click's runner; Ctrl+C and an unreachable Redis in fresh processes)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from sync_kit import ROOT, archive_state, run_cli

from app.core.queue import DEAD, READY, RUNNING, SCHEDULED


@pytest.fixture
def cli_profile(tmp_path, db_url, queue_url):
    """A data folder whose settings use this test's queue."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"version": 1, "queue_url": queue_url, "sync_workers": 1}))
    return data


@pytest.fixture
def cli_archive(cli_profile, tiny_corpus, db_url, simulator_path):
    """The profile with a demo corp on the tiny corpus, synced without media (three files pending).
    Set up in this process; the CLI processes read the corp's secrets from the corpus (they have no
    keyring)."""
    from app.core.context import AppContext

    ctx = AppContext(cli_profile, db_url)
    corp, _ = ctx.setup_demo(tiny_corpus.path)
    assert ctx.make_syncer(corp, media=False, workers=1).run().outcome == "succeeded"
    corp.secrets_in_corpus = True
    ctx.save()  # the demo set up its single account with "no login": the CLI runs as it
    ctx.close()
    return cli_profile


def cli(*args: str, data, db_url: str, code: int = 0):
    from click.testing import CliRunner

    from app.cli import main

    result = CliRunner().invoke(main, [*args, "--data-dir", str(data), "--db", db_url])
    assert result.exit_code == code, result.output
    return result


def _jobs(data, db_url, *args) -> dict:
    return json.loads(cli("jobs", "--json", *args, data=data, db_url=db_url).stdout)


def test_requeue_lists_and_a_worker_runs_the_jobs(backend, cli_archive, db_url, tiny_corpus):
    data = cli_archive
    listing = _jobs(data, db_url)
    assert listing["counts"] == {SCHEDULED: 0, READY: 0, RUNNING: 0, DEAD: 0} and listing["jobs"] == []
    assert ("Redis" in listing["queue"]) == (backend == "redis")

    out = cli("jobs", "requeue", data=data, db_url=db_url).stdout
    assert "Re-enqueued 3 job(s)" in out
    listing = _jobs(data, db_url)
    assert listing["counts"][READY] == 3
    assert {j["topic"] for j in listing["jobs"]} == {"media.download"}
    assert all(j["id"].startswith("media:") for j in listing["jobs"])
    text = cli("jobs", "--state", "ready", data=data, db_url=db_url).stdout
    assert "ready 3" in text and "media.download" in text

    proc = cli("worker", "--until-idle", "--topics", "media.download", "--concurrency", "2", data=data,
               db_url=db_url)
    assert proc.stderr.count("succeeded media.download") == 3, proc.stderr
    assert "Worker stopped: 3 job(s) run." in proc.stderr
    assert {m["status"] for m in archive_state(db_url)["media"]} == {"stored"}
    assert _jobs(data, db_url)["counts"] == {SCHEDULED: 0, READY: 0, RUNNING: 0, DEAD: 0}


def test_a_dead_job_is_listed_with_its_error_retried_and_deleted(backend, cli_profile, db_url, queue_url,
                                                                  monkeypatch):
    from accounts_kit import cli_token

    from app.core.queue import open_queue
    from app.core.store.db import open_database

    db = open_database(db_url)
    monkeypatch.setenv("WECOM_AUDITOR_TOKEN", cli_token(db))  # an account with every role
    queue = open_queue(queue_url, db)
    try:
        queue.enqueue("media.download", {"media_id": 1}, job_id="media:1", max_attempts=1)
        job = queue.reserve(["media.download"], timeout=2)
        assert queue.fail(job, "md5 mismatch: expected 0000, got 1111\n(after 3 attempts)") == DEAD

        text = cli("jobs", "--state", "dead", data=cli_profile, db_url=db_url).stdout
        assert "dead 1" in text
        line = next(x for x in text.splitlines() if x.startswith("dead "))
        assert "media:1" in line and "md5 mismatch: expected 0000, got 1111 (after 3 attempts)" in line

        missing = cli("jobs", "retry", "media:999", data=cli_profile, db_url=db_url, code=1)
        assert "there is no job 'media:999'" in missing.stderr
        assert "will run again now" in cli("jobs", "retry", "media:1", data=cli_profile, db_url=db_url).stdout
        again = queue.get("media:1")
        assert again.state == READY and again.attempts == 0

        assert "deleted" in cli("jobs", "delete", "media:1", data=cli_profile, db_url=db_url).stdout
        assert queue.get("media:1") is None
        assert "there is no job" in cli("jobs", "delete", "media:1", data=cli_profile, db_url=db_url, code=1).stderr
    finally:
        queue.close()
        db.close()


def test_the_worker_stops_cleanly_on_ctrl_c(backend, cli_archive, db_url):
    cmd = [sys.executable, "-m", "app", "worker", "--concurrency", "2", "--data-dir", str(cli_archive),
           "--db", db_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if not line or "Waiting for jobs" in line:
                break
        assert "Waiting for jobs" in lines[-1], "".join(lines)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, "".join(lines) + err
    assert "Stopping after the current jobs" in err and "Worker stopped:" in err
    assert "Traceback" not in err
    assert _jobs(cli_archive, db_url)["counts"][RUNNING] == 0  # nothing left leased by the stopped worker


def test_an_unreachable_redis_is_one_clear_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"version": 1, "queue_url": "redis://127.0.0.1:9/0"}))
    proc = run_cli("jobs", data_dir=data, db_url=f"sqlite:///{data / 'a.db'}", check=False)
    assert proc.returncode == 1
    assert "cannot reach the job queue's Redis at 127.0.0.1:9/0" in proc.stderr
    assert "Traceback" not in proc.stderr

    (data / "settings.json").write_text(json.dumps({"version": 1, "queue_url": "redis://:secret@127.0.0.1/0"}))
    proc = run_cli("jobs", data_dir=data, db_url=f"sqlite:///{data / 'a.db'}", check=False)
    assert proc.returncode == 1 and "must not contain a password" in proc.stderr
    assert "secret" not in proc.stderr.replace("must not contain", "")
