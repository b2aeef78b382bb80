"""The delay queue's semantics, the same suite on Redis and on the embedded queue (SQLite, MariaDB)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.core.queue import DEAD, READY, RUNNING, SCHEDULED, Backoff, JobSpec

QUEUE_PROC = Path(__file__).with_name("queue_proc.py")
ROOT = Path(__file__).resolve().parents[2]


def _spawn(mode: str, queue_url: str, db_url: str, topic: str, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(QUEUE_PROC), mode, queue_url, db_url, topic, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"consumer did not start: {line!r} {proc.stderr.read() if proc.poll() else ''}"
    return proc


def test_jobs_come_in_execute_at_order_and_never_early(backend, queue):
    base = queue.now_ms() + 1000
    offsets = [0, 60, 120, 180, 240, 300]
    shuffled = offsets[:]
    random.Random(7).shuffle(shuffled)
    queue.enqueue_many(JobSpec("order", {"off": off}, execute_at=base + off, job_id=f"job-{off}") for off in shuffled)
    early = queue.reserve(["order"], timeout=0)
    if queue.now_ms() < base:  # (a machine too busy to get here within the second proves nothing)
        assert early is None  # nothing is due yet
        assert queue.counts() == {SCHEDULED: 6, READY: 0, RUNNING: 0, DEAD: 0}
    got = []
    for _ in offsets:
        job = queue.reserve(["order"], timeout=5)
        assert job is not None
        assert queue.now_ms() >= job.execute_at  # never handed out before its time
        got.append(job.payload["off"])
        assert queue.ack(job)
    assert got == offsets
    assert queue.counts() == {SCHEDULED: 0, READY: 0, RUNNING: 0, DEAD: 0}


def test_due_jobs_are_ordered_by_execute_at_not_by_arrival(backend, queue):
    now = queue.now_ms()
    for off in (3000, 1000, 2000):
        queue.enqueue("order", {"off": off}, execute_at=now - off)
    got = []
    while (job := queue.reserve(["order"], timeout=0)) is not None:
        got.append(job.payload["off"])
        queue.ack(job)
    assert got == [3000, 2000, 1000]


def test_topics_are_separate_and_the_lease_is_listed(backend, queue):
    queue.enqueue("media.download", {"media_id": 1}, job_id="media:1")
    queue.enqueue("other", {"x": 1}, job_id="other:1")
    assert queue.reserve(["nothing-here"], timeout=0) is None
    job = queue.reserve(["media.download"], timeout=1, owner="tester")
    assert (job.id, job.topic, job.payload, job.attempts, job.state) == ("media:1", "media.download",
                                                                         {"media_id": 1}, 1, RUNNING)
    running = queue.list_jobs(RUNNING)
    assert [j.id for j in running] == ["media:1"] and running[0].owner == "tester"
    assert running[0].lease_until == job.lease_until
    assert [j.id for j in queue.list_jobs(READY)] == ["other:1"]
    assert queue.get("media:1").state == RUNNING
    assert queue.counts() == {SCHEDULED: 0, READY: 1, RUNNING: 1, DEAD: 0}
    assert queue.counts(topic="other") == {SCHEDULED: 0, READY: 1, RUNNING: 0, DEAD: 0}


def test_enqueue_by_id_is_idempotent_in_every_state(backend, queue):
    assert queue.enqueue("t", {"v": 1}, job_id="media:42") == "media:42"
    assert queue.enqueue("t", {"v": 2}, job_id="media:42") is None
    assert queue.get("media:42").payload == {"v": 1}
    job = queue.reserve(["t"], timeout=1)
    assert queue.enqueue("t", {"v": 3}, job_id="media:42") is None  # while running
    assert queue.bury(job, "broken")
    assert queue.enqueue("t", {"v": 4}, job_id="media:42") is None  # while dead
    assert queue.counts() == {SCHEDULED: 0, READY: 0, RUNNING: 0, DEAD: 1}
    specs = [JobSpec("t", {"i": i}, job_id=f"media:{i}") for i in range(40, 50)]
    assert queue.enqueue_many(specs) == 9  # media:42 exists
    assert queue.enqueue_many(specs) == 0
    assert sum(queue.counts().values()) == 10
    auto = queue.enqueue("t", {"v": 5})
    assert auto and queue.get(auto) is not None  # without an id: always a new job


def test_invalid_arguments_are_refused_clearly(backend, queue):
    with pytest.raises(ValueError, match="topic"):
        queue.enqueue("Bad Topic!")
    with pytest.raises(ValueError, match="job id"):
        queue.enqueue("t", job_id="has space")
    with pytest.raises(ValueError, match="TTR"):
        queue.enqueue("t", ttr=0)
    with pytest.raises(ValueError, match="JSON"):
        queue.enqueue("t", {"x": object()})
    with pytest.raises(ValueError, match="state"):
        queue.list_jobs("sleeping")
    assert sum(queue.counts().values()) == 0


def test_failures_back_off_exponentially_then_die_with_the_last_error(backend, make_queue):
    queue = make_queue(backoff=Backoff(base=0.3, cap=0.5, jitter=0.0))
    queue.enqueue("t", {"n": 1}, max_attempts=3, job_id="flaky")
    waits = []
    for attempt in (1, 2):
        job = queue.reserve(["t"], timeout=3)
        assert job.attempts == attempt
        assert queue.fail(job, f"boom {attempt}") == SCHEDULED
        scheduled = queue.get("flaky")
        assert scheduled.state == SCHEDULED and scheduled.last_error == f"boom {attempt}"
        waits.append(scheduled.execute_at - scheduled.updated_at)  # both set by the fail, from one clock read
        assert queue.reserve(["t"], timeout=0) is None  # not before its backoff
    assert waits == [300, 500]  # 0.3 s, then 0.6 s capped at 0.5 s
    job = queue.reserve(["t"], timeout=3)
    assert job.attempts == 3
    assert queue.fail(job, "boom 3") == DEAD
    dead = queue.list_jobs(DEAD)
    assert [(j.id, j.last_error, j.attempts) for j in dead] == [("flaky", "boom 3", 3)]
    assert queue.counts() == {SCHEDULED: 0, READY: 0, RUNNING: 0, DEAD: 1}
    assert queue.reserve(["t"], timeout=0.3) is None  # a dead job is never delivered
    assert queue.retry("flaky")
    job = queue.reserve(["t"], timeout=2)
    assert job.id == "flaky" and job.attempts == 1  # a fresh attempt budget
    assert queue.ack(job)
    assert queue.get("flaky") is None


def test_explicit_delay_bury_and_release(backend, queue):
    queue.enqueue("t", job_id="a")
    job = queue.reserve(["t"], timeout=1)
    assert queue.fail(job, "later", delay=0.4) == SCHEDULED
    assert queue.reserve(["t"], timeout=0.1) is None
    job = queue.reserve(["t"], timeout=3)
    assert job.attempts == 2
    assert queue.release(job)  # a consumer shutting down gives it back: no attempt counted
    again = queue.reserve(["t"], timeout=1)
    assert again.attempts == 2 and again.last_error == "later"
    assert queue.bury(again, "hopeless")
    assert queue.get("a").state == DEAD and queue.get("a").last_error == "hopeless"


def test_a_recurring_job_repeats_under_its_id(backend, queue):
    queue.enqueue("sync.scheduled", {"corpid": "c"}, job_id="sync:c")
    job = queue.reserve(["sync.scheduled"], timeout=1)
    nxt = queue.now_ms() + 300
    assert queue.repeat(job, nxt, error="network down")
    waiting = queue.get("sync:c")
    assert (waiting.state, waiting.execute_at, waiting.last_error, waiting.attempts) == (SCHEDULED, nxt,
                                                                                        "network down", 1)
    job = queue.reserve(["sync.scheduled"], timeout=3)
    assert job.attempts == 2
    assert queue.repeat(job, queue.now_ms() + 60_000)
    waiting = queue.get("sync:c")
    assert waiting.attempts == 0 and waiting.last_error is None
    assert queue.counts() == {SCHEDULED: 1, READY: 0, RUNNING: 0, DEAD: 0}


def test_an_unacknowledged_job_is_delivered_again_after_its_ttr(backend, queue):
    queue.enqueue("t", {"x": 1}, ttr=1, job_id="slow")
    first = queue.reserve(["t"], timeout=1, owner="consumer-a")
    assert queue.reserve(["t"], timeout=0.2) is None  # leased: nobody else gets it
    second = queue.reserve(["t"], timeout=3, owner="consumer-b")
    assert second.id == "slow" and second.attempts == 2 and second.token != first.token
    assert queue.now_ms() >= first.lease_until
    assert "consumer-a" in second.last_error and "TTR" in second.last_error
    # The first consumer's late answer changes nothing: the job belongs to the second one now.
    assert not queue.ack(first)
    assert queue.fail(first, "late") is None
    assert queue.extend(first) is None
    assert queue.get("slow").state == RUNNING
    assert queue.ack(second)
    assert queue.get("slow") is None


def test_extending_the_lease_keeps_the_job(backend, queue):
    queue.enqueue("t", ttr=1, job_id="long")
    job = queue.reserve(["t"], timeout=1)
    for _ in range(5):
        time.sleep(0.3)
        assert queue.extend(job) is not None
    assert queue.reserve(["t"], timeout=0) is None
    assert queue.ack(job)


def test_a_job_whose_lease_keeps_expiring_dies(backend, queue):
    queue.enqueue("t", ttr=0.3, max_attempts=2, job_id="poison")
    assert queue.reserve(["t"], timeout=1).attempts == 1
    assert queue.reserve(["t"], timeout=3).attempts == 2
    assert queue.reserve(["t"], timeout=1) is None
    dead = queue.get("poison")
    assert dead.state == DEAD and "TTR" in dead.last_error


def test_ttr_redelivery_after_the_consumer_is_killed(backend, queue, queue_url, db_url):
    holder = _spawn("hold", queue_url, db_url, "killme")
    try:
        queue.enqueue("killme", {"n": 1}, ttr=1, job_id="victim")
        assert holder.stdout.readline().strip() == "got victim"
        running = queue.get("victim")
        assert running.state == RUNNING
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()
        holder.stderr.close()
    job = queue.reserve(["killme"], timeout=5)
    assert job is not None and job.id == "victim" and job.payload == {"n": 1}
    assert job.attempts == 2 and queue.now_ms() >= running.lease_until
    assert queue.ack(job)


def test_exactly_one_of_two_threads_gets_each_job(backend, make_queue):
    producer = make_queue()
    consumers = [make_queue(), make_queue()]
    for round_ in range(10):
        producer.enqueue("race", {"r": round_}, job_id=f"race-{round_}")
        barrier = threading.Barrier(2)
        got = [None, None]

        def take(i, barrier=barrier, got=got):
            barrier.wait()
            got[i] = consumers[i].reserve(["race"], timeout=0.1)

        threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [g for g in got if g is not None]
        assert len(winners) == 1, f"round {round_}: {got}"
        assert winners[0].id == f"race-{round_}"
        assert producer.ack(winners[0])

    # Many jobs, four threads: every job delivered once, none twice.
    n = 120
    producer.enqueue_many(JobSpec("bulk", {"i": i}, job_id=f"bulk-{i}") for i in range(n))
    seen: list[str] = []
    lock = threading.Lock()

    def drain(q):
        while (job := q.reserve(["bulk"], timeout=0.3)) is not None:
            with lock:
                seen.append(job.id)
            assert q.ack(job)

    threads = [threading.Thread(target=drain, args=(consumers[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"bulk-{i}" for i in range(n))


def test_exactly_one_of_two_processes_gets_each_job(backend, queue, queue_url, db_url):
    procs = [_spawn("drain", queue_url, db_url, "procs", "0.8") for _ in range(2)]
    n = 60
    try:
        queue.enqueue_many(JobSpec("procs", {"i": i}, ttr=30, job_id=f"p-{i}") for i in range(n))
        outputs = [p.communicate(timeout=60)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    got = [[line[4:] for line in out.splitlines() if line.startswith("got ")] for out in outputs]
    assert not any("lost" in out for out in outputs)
    assert sorted(got[0] + got[1]) == sorted(f"p-{i}" for i in range(n))  # each once, none lost
    assert not set(got[0]) & set(got[1])
    assert all(p.returncode == 0 for p in procs)


def test_listing_paging_delete_and_reschedule(backend, queue):
    now = queue.now_ms()
    for i in range(5):
        queue.enqueue("t", {"i": i}, execute_at=now + 60_000 + i, job_id=f"s-{i}")
    page = queue.list_jobs(SCHEDULED, limit=2, offset=1)
    assert [j.id for j in page] == ["s-1", "s-2"]
    assert [j.id for j in queue.list_jobs(limit=3)] == ["s-0", "s-1", "s-2"]
    assert queue.delete("s-3") and not queue.delete("s-3")
    assert queue.get("s-3") is None
    assert queue.reschedule("s-4")  # run it now
    job = queue.reserve(["t"], timeout=1)
    assert job.id == "s-4"
    assert not queue.reschedule("s-4")  # running: left alone
    assert queue.delete("s-4")  # deleting a running job: its consumer finds the lease lost
    assert not queue.ack(job)
    assert queue.counts() == {SCHEDULED: 3, READY: 0, RUNNING: 0, DEAD: 0}
    queue.enqueue("u", job_id="d-1")
    assert queue.bury(queue.reserve(["u"], timeout=1), "broken")
    queue.enqueue("t", job_id="r-1")
    # Every state, in order (scheduled, ready, running, dead), paged across the states' boundaries.
    assert [(j.id, j.state) for j in queue.list_jobs(limit=10)] == [
        ("s-0", SCHEDULED), ("s-1", SCHEDULED), ("s-2", SCHEDULED), ("r-1", READY), ("d-1", DEAD)]
    assert [j.id for j in queue.list_jobs(offset=2, limit=2)] == ["s-2", "r-1"]
    assert [j.id for j in queue.list_jobs(READY)] == ["r-1"]
    assert [j.id for j in queue.list_jobs(topic="u")] == ["d-1"]


def test_the_queue_clock_and_description(backend, queue):
    assert abs(queue.now_ms() - int(time.time() * 1000)) < 5000
    text = queue.description
    assert ("Redis" in text) if backend == "redis" else ("archive database" in text)
    assert "password" not in text.lower()
