"""Scheduled backups (app/core/jobs/backup.py) on every queue backend: one job for this computer while
backup_interval_hours and backup_folder are set, a run by the worker writes a verifiable backup recorded
as system:scheduled-backup and reschedules after the interval, a changed folder replaces the job, a
failing run keeps its schedule with the error, a worker on another machine hands the job back, 0
removes the schedule."""

from __future__ import annotations

import socket

import pytest
from archive_kit import make_archive

from app.core.backup import backup_ids, verify_backup
from app.core.jobs import TOPICS, build_worker
from app.core.jobs.backup import TOPIC_BACKUP, backup_job_id, ensure_scheduled_backups
from app.core.queue import SCHEDULED

HOST = socket.gethostname()


def _run(ctx, queue, timeout=120):
    worker, close = build_worker(ctx, queue, topics=[TOPIC_BACKUP], until_idle=True, maintenance_interval=3600)
    worker.start()
    assert worker.join(timeout), "the worker did not become idle"
    close()


def _backup_entries(ctx, actor):
    return [e for e in ctx.trail.entries(actor, limit=50) if e.action == "backup"]


@pytest.fixture
def archive40(tmp_path, db_url):
    # Made before the queue fixture opens the database file: that fixture's Database, opened on a
    # file the archive then creates, would otherwise hold a stale view of it.
    return make_archive(tmp_path / "data", db_url, messages=40)


@pytest.fixture
def archive20(tmp_path, db_url):
    return make_archive(tmp_path / "data", db_url, messages=20)


def test_a_schedule_backs_up_and_reschedules(tmp_path, archive40, queue):
    ctx, actor = archive40
    try:
        assert TOPIC_BACKUP in TOPICS
        folder = tmp_path / "backups"
        jid = backup_job_id(HOST)
        assert ensure_scheduled_backups(ctx.settings, queue) == 0  # off by default
        ctx.change_settings(actor, backup_interval_hours=6, backup_folder=str(folder))
        assert ensure_scheduled_backups(ctx.settings, queue) == 1
        assert ensure_scheduled_backups(ctx.settings, queue) == 0  # exactly one
        job = queue.get(jid)
        assert job.topic == TOPIC_BACKUP and job.payload == {"folder": str(folder), "interval_hours": 6,
                                                             "scheduled_by": HOST}
        queue.reschedule(jid)  # due now
        _run(ctx, queue)
        [first] = backup_ids(folder)
        assert verify_backup(folder, first).ok
        [entry] = _backup_entries(ctx, actor)
        assert entry.account == "system:scheduled-backup" and entry.object == first and entry.outcome == "ok"
        job = queue.get(jid)
        assert job.state == SCHEDULED and job.last_error is None
        assert 5.9 * 3600_000 <= job.execute_at - job.updated_at <= 6 * 3600_000

        # the next run continues the chain (an incremental backup)
        queue.reschedule(jid)
        _run(ctx, queue)
        first_again, second = backup_ids(folder)
        report = verify_backup(folder, second)
        assert first_again == first and report.ok and report.chain == [first, second]

        # another folder replaces the job; 0 removes it
        ctx.change_settings(actor, backup_folder=str(tmp_path / "elsewhere"))
        assert ensure_scheduled_backups(ctx.settings, queue) == 1
        assert queue.get(jid).payload["folder"] == str(tmp_path / "elsewhere")
        ctx.change_settings(actor, backup_interval_hours=0)
        assert ensure_scheduled_backups(ctx.settings, queue) == 1 and queue.get(jid) is None
    finally:
        ctx.close()


def test_a_failing_run_keeps_its_schedule_and_another_machine_hands_it_back(tmp_path, archive20, queue):
    ctx, actor = archive20
    try:
        not_a_folder = tmp_path / "a-file"
        not_a_folder.write_text("not a folder")
        jid = backup_job_id(HOST)
        # (the worker puts the jobs back as the settings say when it starts: the schedule is set there)
        ctx.change_settings(actor, backup_interval_hours=24, backup_folder=str(not_a_folder))
        assert ensure_scheduled_backups(ctx.settings, queue) == 1
        queue.reschedule(jid)  # due now
        _run(ctx, queue)
        job = queue.get(jid)
        assert job.state == SCHEDULED and "cannot create the backup folder" in job.last_error
        assert job.execute_at - job.updated_at <= 24 * 3600_000

        other = backup_job_id("another-machine")
        folder = tmp_path / "theirs"
        queue.enqueue(TOPIC_BACKUP, {"folder": str(folder), "interval_hours": 24, "scheduled_by": "another-machine"},
                      job_id=other, max_attempts=1000)
        ctx.change_settings(actor, backup_interval_hours=0)
        assert ensure_scheduled_backups(ctx.settings, queue) == 1 and queue.get(jid) is None
        _run(ctx, queue)
        job = queue.get(other)
        assert job.state == SCHEDULED and "waiting for another-machine" in job.last_error
        assert job.execute_at - job.updated_at <= 61_000
        assert not folder.exists() and not _backup_entries(ctx, actor)
        # this machine's schedule (off) left the other machine's alone
        assert ensure_scheduled_backups(ctx.settings, queue) == 0 and queue.get(other) is not None
    finally:
        ctx.close()
