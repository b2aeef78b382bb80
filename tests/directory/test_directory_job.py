"""Scheduled directory syncs on the embedded queue (SQLite and MariaDB): one future job per corp while
directory_interval_hours is set, a run by the worker fills the directory and reschedules, a failing
run keeps its schedule with the error, 0 removes the schedule."""

from __future__ import annotations

from app.core.directory.runs import directory_runs
from app.core.jobs import build_worker
from app.core.jobs.directory import TOPIC_DIRECTORY, directory_job_id, ensure_scheduled_directory_syncs
from app.core.queue import SCHEDULED


def _run(worker, timeout=120):
    worker.start()
    assert worker.join(timeout), "the worker did not become idle"


def test_a_schedule_per_corp_run_by_the_worker(archive):
    from app.core.queue import open_queue

    ctx = archive.ctx
    queue = open_queue(ctx, poll_interval=0.05)
    jid = directory_job_id(archive.corp.corpid)
    assert ensure_scheduled_directory_syncs(ctx.settings, queue) == 0  # off by default
    ctx.change_settings(archive.actor, directory_interval_hours=24)
    assert ensure_scheduled_directory_syncs(ctx.settings, queue) == 1
    assert ensure_scheduled_directory_syncs(ctx.settings, queue) == 0  # exactly one
    queue.reschedule(jid)  # due now
    worker, close = build_worker(ctx, queue, topics=[TOPIC_DIRECTORY], until_idle=True)
    _run(worker)
    close()
    [run] = directory_runs(ctx.db, archive.corp_id)
    assert run.outcome == "partial" and run.actor == "system:scheduled-directory-sync"
    assert ctx.directory.name(archive.actor, archive.corp_id, "ChenJing") == "陈静"
    job = queue.get(jid)
    assert job.state == SCHEDULED and job.last_error is None
    assert 23.9 * 3600_000 <= job.execute_at - job.updated_at <= 24 * 3600_000

    ctx.change_settings(archive.actor, directory_interval_hours=0)
    assert ensure_scheduled_directory_syncs(ctx.settings, queue) == 1 and queue.get(jid) is None
    queue.close()


def test_a_failing_run_keeps_its_schedule_with_the_error(archive):
    from dataclasses import replace

    from app.core.queue import open_queue

    ctx = archive.ctx
    ctx.settings.upsert_corp(replace(archive.corp, simulator_corpus=str(archive.corpus / "missing")))
    ctx.save()
    queue = open_queue(ctx, poll_interval=0.05)
    jid = directory_job_id(archive.corp.corpid)
    queue.enqueue(TOPIC_DIRECTORY, {"corpid": archive.corp.corpid, "interval_hours": 6, "scheduled_by": "x"},
                  job_id=jid, max_attempts=1000)
    worker, close = build_worker(ctx, queue, topics=[TOPIC_DIRECTORY], until_idle=True)
    _run(worker)
    close()
    job = queue.get(jid)
    assert job.state == SCHEDULED and "has no directory.json" in job.last_error
    assert job.execute_at - job.updated_at <= 6 * 3600_000
    queue.close()
