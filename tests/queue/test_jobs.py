"""Consumers and the app's jobs, on every backend: the worker's outcomes, graceful stop, heartbeats;
re-enqueueing pending media from the archive after the queue lost its memory; media downloads
through the SDK simulator; scheduled syncs."""

from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest
from queue_kit import delete_prefix
from sqlalchemy import delete, select, update

from app.core.jobs import (
    TOPIC_MEDIA,
    TOPIC_SYNC,
    MediaDownloadHandler,
    build_worker,
    ensure_scheduled_syncs,
    media_job_id,
    requeue_pending,
    sync_job_id,
)
from app.core.queue import (
    DEAD,
    READY,
    RUNNING,
    SCHEDULED,
    JobCancelled,
    PermanentFailure,
    Reschedule,
    RetryLater,
    Worker,
)
from app.core.store.db import now_ms
from app.core.store.models import EXPIRED, FAILED, PENDING, STORED, Media, Message, QueueJob

DAY_MS = 86_400_000


def _run_until_idle(worker: Worker, timeout: float = 60) -> None:
    worker.start()
    assert worker.join(timeout), "the worker did not become idle"


# ------------------------------------------------------------------------------------ the worker

def test_the_worker_turns_handler_outcomes_into_queue_states(backend, queue):
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def count(job):
        with lock:
            calls[job.id] = calls.get(job.id, 0) + 1
            return calls[job.id]

    def flaky(job, control):
        if count(job) == 1:
            raise RetryLater("not yet", delay=0.1)

    def broken(job, control):
        count(job)
        raise ValueError("cannot parse the thing")

    def hopeless(job, control):
        count(job)
        raise PermanentFailure("the file id is invalid")

    def recurring(job, control):
        count(job)
        return Reschedule(queue.now_ms() + 60_000)

    def fine(job, control):
        count(job)

    handlers = {"fine": fine, "flaky": flaky, "broken": broken, "hopeless": hopeless, "recurring": recurring}
    for topic in handlers:
        queue.enqueue(topic, job_id=f"{topic}-1", max_attempts=2)
    events = []
    worker = Worker(queue, handlers, concurrency=2, until_idle=True, reserve_timeout=0.5,
                    on_event=lambda e: events.append((e.kind, e.job.id if e.job else None)))
    _run_until_idle(worker)
    assert calls == {"fine-1": 1, "flaky-1": 2, "broken-1": 2, "hopeless-1": 1, "recurring-1": 1}
    assert queue.get("fine-1") is None and queue.get("flaky-1") is None
    broken_job = queue.get("broken-1")
    assert broken_job.state == DEAD and broken_job.last_error == "cannot parse the thing"
    assert queue.get("hopeless-1").state == DEAD and queue.get("hopeless-1").last_error == "the file id is invalid"
    assert queue.get("recurring-1").state == SCHEDULED
    kinds = {(k, j) for k, j in events}
    assert {("succeeded", "fine-1"), ("retrying", "flaky-1"), ("succeeded", "flaky-1"), ("retrying", "broken-1"),
            ("dead", "broken-1"), ("dead", "hopeless-1"), ("rescheduled", "recurring-1")} <= kinds
    assert worker.processed == 7


def test_stopping_with_cancel_gives_running_jobs_back(backend, queue):
    started = threading.Event()

    def patient(job, control):
        started.set()
        while not control.cancelled():
            time.sleep(0.02)
        raise JobCancelled("stopping")

    queue.enqueue("patient", job_id="p1", ttr=5)
    worker = Worker(queue, {"patient": patient}, reserve_timeout=0.2).start()
    assert started.wait(10)
    assert [j.id for j in worker.running_jobs()] == ["p1"]
    worker.stop(cancel_running=True)
    assert worker.join(10)
    job = queue.get("p1")
    assert job.state == READY and job.attempts == 0  # back in the queue, the interrupted run not counted


def test_a_plain_stop_lets_the_current_job_finish(backend, queue):
    started, release = threading.Event(), threading.Event()
    done = []

    def slow(job, control):
        started.set()
        release.wait(10)
        done.append(job.id)

    queue.enqueue("slow", job_id="s1")
    queue.enqueue("slow", job_id="s2", delay=0.5)
    worker = Worker(queue, {"slow": slow}, reserve_timeout=0.2).start()
    assert started.wait(10)
    worker.stop()
    release.set()
    assert worker.join(10)
    assert done == ["s1"] and queue.get("s1") is None
    assert queue.get("s2").state in (SCHEDULED, READY)  # not taken after the stop


def test_the_heartbeat_keeps_a_long_job_leased(backend, make_queue):
    queue, other = make_queue(), make_queue()
    stolen = []

    def long_job(job, control):
        end = time.monotonic() + 2.5  # two and a half times its TTR
        while time.monotonic() < end:
            got = other.reserve(["long"], timeout=0)
            if got is not None:
                stolen.append(got)
            time.sleep(0.1)
        assert not control.cancelled()

    queue.enqueue("long", job_id="l1", ttr=1.0)
    events = []
    worker = Worker(queue, {"long": long_job}, until_idle=True, reserve_timeout=0.2,
                    on_event=lambda e: events.append(e.kind))
    _run_until_idle(worker)
    assert stolen == [] and "succeeded" in events and "lost" not in events
    assert queue.get("l1") is None


def test_a_worker_whose_lease_was_taken_is_told_to_stop(backend, queue):
    flagged = threading.Event()

    def watched(job, control):
        queue.delete(job.id)  # an administrator deletes the running job
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not control.cancelled():
            time.sleep(0.02)
        if control.cancelled():
            flagged.set()
        raise JobCancelled("lease lost")

    queue.enqueue("w", job_id="w1", ttr=0.3)
    events = []
    worker = Worker(queue, {"w": watched}, until_idle=True, reserve_timeout=0.2,
                    on_event=lambda e: events.append(e.kind))
    _run_until_idle(worker)
    assert flagged.is_set() and "lost" in events
    assert queue.get("w1") is None


# ------------------------------------------------------------------------------------ requeue from the archive

def _archive_with_media(db, n_pending=3, n_failed_recent=2, n_failed_old=1, n_stored=1):
    """A corp with image messages whose media rows are in the given states; returns {status: [ids]}."""
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import write_batch

    corp_id = ensure_corp(db, "wwqueuetest000001")
    plan = ([("pending", now_ms())] * n_pending + [("failed", now_ms() - DAY_MS)] * n_failed_recent
            + [("failed", now_ms() - 9 * DAY_MS)] * n_failed_old + [("stored", now_ms())] * n_stored)
    outcomes = []
    for i, (_, t) in enumerate(plan, start=1):
        raw = json.dumps({"msgid": f"m{i}", "action": "send", "from": "a", "tolist": ["b"], "roomid": "",
                          "msgtime": t, "msgtype": "image",
                          "image": {"md5sum": "0" * 32, "filesize": 10, "sdkfileid": f"fid-{i}"}}).encode()
        outcomes.append(Decrypted(ChatDataItem(i, f"m{i}", 1, "k", "m"), raw, parse_message(raw)))
    write_batch(db, corp_id, 0, len(plan), outcomes, None)
    ids: dict[str, list[int]] = {"pending": [], "failed": [], "failed_old": [], "stored": []}
    with db.write() as conn:
        rows = conn.execute(select(Media.id, Message.msgid).join(Message, Message.id == Media.message_id)
                            .order_by(Message.seq)).all()
        for (mid, _), (status, t) in zip(rows, plan, strict=True):
            key = "failed_old" if status == "failed" and t < now_ms() - 5 * DAY_MS else status
            ids[key].append(mid)
            if status != PENDING:
                conn.execute(update(Media).where(Media.id == mid).values(status=status, last_error="md5 mismatch"))
    return ids


def _lose_the_queue(backend, queue, redis_prefix, db) -> None:
    """Redis lost its memory (every key under the prefix deleted), or the jobs table was emptied."""
    if backend == "redis":
        assert delete_prefix(redis_prefix) > 0
    else:
        with db.write() as conn:
            conn.execute(delete(QueueJob))
    assert sum(queue.counts().values()) == 0


def test_requeue_after_the_queue_lost_its_memory_loses_no_pending_media(backend, queue, db, redis_prefix):
    ids = _archive_with_media(db)
    needed = {media_job_id(i) for i in ids["pending"] + ids["failed"]}
    assert requeue_pending(db, queue) == len(needed) == 5
    assert requeue_pending(db, queue) == 0  # idempotent: one job per media row
    assert {j.id for j in queue.list_jobs(limit=100)} == needed

    # A consumer is running one of them when the queue loses everything.
    running = queue.reserve([TOPIC_MEDIA], timeout=1)
    _lose_the_queue(backend, queue, redis_prefix, db)
    assert not queue.ack(running)  # its lease went with the rest

    assert requeue_pending(db, queue) == 5  # the archive says what is missing
    assert {j.id for j in queue.list_jobs(limit=100)} == needed

    # Consumers finish the work: nothing pending is left behind.
    def store(job, control):
        with db.write() as conn:
            conn.execute(update(Media).where(Media.id == job.payload["media_id"]).values(status=STORED))

    _run_until_idle(Worker(queue, {TOPIC_MEDIA: store}, concurrency=2, until_idle=True, reserve_timeout=0.3))
    with db.read() as conn:
        left = set(conn.execute(select(Media.id).where(Media.status.in_((PENDING, FAILED)))).scalars())
    assert left == set(ids["failed_old"])  # only the failed file past WeCom's window is not retried
    assert sum(queue.counts().values()) == 0
    assert requeue_pending(db, queue) == 0


# ------------------------------------------------------------------------------------ media downloads

@pytest.fixture
def media_ctx(tiny_corpus, db_url, queue_url, simulator_path, tmp_path):
    """An AppContext on this backend whose corp is served by the simulator from the tiny corpus, with
    its messages synced and their three media files pending."""
    from app.core.context import AppContext

    ctx = AppContext(tmp_path / "data", db_url)
    ctx.settings.queue_url = queue_url
    ctx.settings.sync_workers = 1
    ctx.save()
    corp, _ = ctx.setup_demo(tiny_corpus.path)
    report = ctx.make_syncer(corp, media=False, workers=1).run()
    assert report.outcome == "succeeded"
    yield ctx
    ctx.close()


def _media(ctx) -> dict[str, dict]:
    with ctx.db.read() as conn:
        return {r.sdkfileid: dict(r._mapping) for r in conn.execute(
            select(Media.id, Media.sdkfileid, Media.status, Media.last_error, Media.sha256, Media.storage_key,
                   Media.attempts))}


def _media_worker(ctx, queue, **handler_options):
    handler = MediaDownloadHandler(ctx, retry_wait=0.01, **handler_options)
    worker, close = build_worker(ctx, queue, topics=[TOPIC_MEDIA], concurrency=2, until_idle=True,
                                 media_handler=handler)
    return worker, close


def test_media_jobs_download_verify_and_store_the_files(backend, media_ctx, tiny_corpus):
    from app.core.queue import open_queue

    queue = open_queue(media_ctx, poll_interval=0.05)
    assert {m["status"] for m in _media(media_ctx).values()} == {PENDING}
    worker, close = _media_worker(media_ctx, queue)
    _run_until_idle(worker)  # the worker re-enqueues the pending media itself when it starts
    close()
    media = _media(media_ctx)
    assert {fid: m["status"] for fid, m in media.items()} == {fid: STORED for fid in tiny_corpus.media}
    for fid, m in media.items():
        stored = media_ctx.storage.open(m["storage_key"]).read()
        assert stored == tiny_corpus.media[fid] and hashlib.sha256(stored).hexdigest() == m["sha256"]
    assert sum(queue.counts().values()) == 0
    queue.close()


def test_media_failures_retry_with_backoff_within_the_window(backend, media_ctx, tiny_corpus):
    from app.core.queue import open_queue

    tiny_corpus.set_faults([{"kind": "media_expired", "sdkfileid": "fid-empty"}])
    names = json.loads((tiny_corpus.path / "media.json").read_text())
    del names["fid-nul"]  # WeCom refuses this file id (10005)
    (tiny_corpus.path / "media.json").write_text(json.dumps(names))
    queue = open_queue(media_ctx, poll_interval=0.05)
    # The messages are from 2023: pretend WeCom still keeps them (a window of 10,000 days).
    worker, close = _media_worker(media_ctx, queue, retention_ms=10_000 * DAY_MS)
    _run_until_idle(worker)
    close()
    media = _media(media_ctx)
    assert media["fid-image"]["status"] == STORED
    assert media["fid-empty"]["status"] == EXPIRED
    assert media["fid-nul"]["status"] == FAILED and "10005" in media["fid-nul"]["last_error"]
    job = queue.get(media_job_id(media["fid-nul"]["id"]))
    assert job.state == SCHEDULED and job.attempts == 1 and "10005" in job.last_error
    wait_s = (job.execute_at - job.updated_at) / 1000
    assert 50 <= wait_s <= 70  # the first retry after about a minute (60 s ± 10 %)

    # Once the window has passed (the real one: these messages are years old), a failed file is
    # not retried any more and keeps its reason; nothing re-enqueues it.
    assert queue.retry(job.id)
    worker, close = _media_worker(media_ctx, queue)
    _run_until_idle(worker)
    close()
    nul = _media(media_ctx)["fid-nul"]
    assert nul["status"] == FAILED and "retention window" in nul["last_error"]
    assert sum(queue.counts().values()) == 0
    assert requeue_pending(media_ctx.db, queue) == 0
    queue.close()


def test_pending_media_expire_when_the_window_passes(backend, media_ctx, tiny_corpus):
    from app.core.queue import open_queue

    # Every GetMediaData of this corpus fails with a network error (10001): the files stay pending ...
    tiny_corpus.set_faults([{"kind": "call_error", "call": "GetMediaData", "nth": 1, "code": 10001,
                             "times": 1_000_000}])
    queue = open_queue(media_ctx, poll_interval=0.05)
    worker, close = _media_worker(media_ctx, queue, retention_ms=10_000 * DAY_MS)
    _run_until_idle(worker)
    close()
    media = _media(media_ctx)
    assert {m["status"] for m in media.values()} == {PENDING}
    assert all(m["attempts"] == 2 and "10001" in m["last_error"] for m in media.values())
    assert queue.counts()[SCHEDULED] == 3
    # ... until WeCom's window has passed: then they are marked expired, with the last error.
    for m in media.values():
        queue.retry(media_job_id(m["id"]))
    worker, close = _media_worker(media_ctx, queue)
    _run_until_idle(worker)
    close()
    media = _media(media_ctx)
    assert {m["status"] for m in media.values()} == {EXPIRED}
    assert all("retention window" in m["last_error"] and "10001" in m["last_error"] for m in media.values())
    assert sum(queue.counts().values()) == 0
    queue.close()


# ------------------------------------------------------------------------------------ scheduled syncs

def test_scheduled_syncs_keep_one_future_job_per_corp(backend, media_ctx, tiny_corpus):
    from app.core.config.settings import load_settings
    from app.core.queue import open_queue

    queue = open_queue(media_ctx, poll_interval=0.05)
    settings = load_settings(media_ctx.paths)
    corpid = settings.corps[0].corpid
    jid = sync_job_id(corpid)
    assert ensure_scheduled_syncs(settings, queue) == 0  # interval 0: no schedule

    settings.sync_interval_minutes = 30
    media_ctx.settings.sync_interval_minutes = 30
    media_ctx.save()
    assert ensure_scheduled_syncs(settings, queue) == 1
    assert ensure_scheduled_syncs(settings, queue) == 0
    job = queue.get(jid)
    assert job.state == SCHEDULED and 29 * 60_000 <= job.execute_at - job.created_at <= 30 * 60_000

    # New entries arrive at WeCom; the schedule comes due and the worker syncs.
    queue.reschedule(jid)
    messages_before = _count_messages(media_ctx)
    _append_message(tiny_corpus, seq=11, msgid="m-new")
    worker, close = build_worker(media_ctx, queue, topics=[TOPIC_SYNC], until_idle=True)
    _run_until_idle(worker, timeout=120)
    close()
    assert _count_messages(media_ctx) == messages_before + 1
    job = queue.get(jid)
    assert job.state == SCHEDULED and job.attempts == 0 and job.last_error is None
    assert 29 * 60_000 <= job.execute_at - job.updated_at <= 30 * 60_000
    assert [j.id for j in queue.list_jobs(topic=TOPIC_SYNC)] == [jid]  # still exactly one

    # Another interval replaces the schedule; 0 removes this workstation's schedule.
    settings.sync_interval_minutes = 5
    assert ensure_scheduled_syncs(settings, queue) == 1
    assert queue.get(jid).payload["interval_minutes"] == 5
    settings.sync_interval_minutes = 0
    assert ensure_scheduled_syncs(settings, queue) == 1
    assert queue.get(jid) is None
    queue.close()


def test_a_failing_scheduled_sync_records_the_error_and_keeps_its_schedule(backend, media_ctx):
    from app.core.queue import open_queue

    queue = open_queue(media_ctx, poll_interval=0.05)
    queue.enqueue(TOPIC_SYNC, {"corpid": "wwnotconfigured", "interval_minutes": 10, "scheduled_by": "elsewhere"},
                  job_id=sync_job_id("wwnotconfigured"), max_attempts=1000)
    worker, close = build_worker(media_ctx, queue, topics=[TOPIC_SYNC], until_idle=True)
    _run_until_idle(worker)
    close()
    job = queue.get(sync_job_id("wwnotconfigured"))
    assert job.state == SCHEDULED and "not configured" in job.last_error
    assert job.execute_at - job.updated_at <= 10 * 60_000
    assert job.state != RUNNING
    queue.close()


def _count_messages(ctx) -> int:
    from sqlalchemy import func

    with ctx.db.read() as conn:
        return conn.execute(select(func.count()).select_from(Message)).scalar()


def _append_message(corpus, *, seq: int, msgid: str) -> None:
    line = json.dumps({"seq": seq, "publickey_ver": 1, "msg": {
        "msgid": msgid, "action": "send", "from": "zhangwei", "tolist": ["lina"], "roomid": "",
        "msgtime": 1700000009000, "msgtype": "text", "text": {"content": "新消息"}}}, ensure_ascii=False)
    with (corpus.path / "messages.jsonl").open("a", encoding="utf-8") as f:
        f.write(line + "\n")


# ------------------------------------------------------------------------------------ who may do what

def test_anyone_with_archive_status_may_look_only_sync_run_may_change(backend, queue, db):
    from app.core.actor import Actor
    from app.core.auth.errors import PermissionDenied
    from app.core.queue import QueueService

    queue.enqueue("t", job_id="x")
    assert queue.bury(queue.reserve(["t"], timeout=1), "broken")
    service = QueueService(queue, db)
    reviewer = Actor(username="rev", roles=frozenset({"reviewer"}))
    admin = Actor(username="adm", roles=frozenset({"administrator"}))
    assert service.counts(reviewer)[DEAD] == 1 and [j.id for j in service.jobs(reviewer)] == ["x"]
    assert not service.may_change(reviewer) and service.may_change(admin)
    for attempt in (lambda: service.retry(reviewer, "x"), lambda: service.delete(reviewer, "x"),
                    lambda: service.requeue(reviewer)):
        with pytest.raises(PermissionDenied, match="sync.run"):
            attempt()
    assert queue.get("x").state == DEAD
    assert service.retry(admin, "x") and queue.get("x").state == READY
    with pytest.raises(PermissionDenied):
        service.counts(Actor(username="nobody"))
