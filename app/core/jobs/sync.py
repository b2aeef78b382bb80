"""``sync.scheduled`` (job id ``sync:<corpid>``): sync one corp, then schedule the next run
``interval_minutes`` later under the same id (one future job per corp).

A failed run is recorded as the job's last error and tried again with backoff, never later than the
interval. The workstation whose ``sync_interval_minutes`` is set owns the schedule
(:func:`ensure_scheduled_syncs`).
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from app.core.queue import (
    DEAD,
    RUNNING,
    Backoff,
    Job,
    JobCancelled,
    JobControl,
    JobQueue,
    QueueError,
    Reschedule,
)
from app.core.sdk import SdkError, SdkLoadError
from app.core.store.db import DatabaseError

from .media import requeue_pending

if TYPE_CHECKING:
    from app.core.config.settings import Settings
    from app.core.context import AppContext

__all__ = ["TOPIC_SYNC", "ScheduledSyncHandler", "ensure_scheduled_syncs", "sync_job_id"]

log = logging.getLogger(__name__)

TOPIC_SYNC = "sync.scheduled"
SYNC_TTR = 300.0
SYNC_MAX_ATTEMPTS = 1000  # a schedule never dies of failed runs; only of a consumer killed mid-run, repeatedly
SYNC_BACKOFF = Backoff(base=60.0, cap=3600.0, jitter=0.1)


def sync_job_id(corpid: str) -> str:
    return f"sync:{corpid}"


# ---------------------------------------------------------------------------------------------- sync

def ensure_scheduled_syncs(settings: Settings, queue: JobQueue, *, host: str | None = None) -> int:
    """Keep exactly one ``sync.scheduled`` job per configured corp when ``settings.sync_interval_minutes``
    is set; with 0, remove the schedules this workstation made. A dead schedule is started again,
    a schedule with another interval replaced. Schedules made by other workstations (a team's
    server) are left alone. Returns how many jobs were created or changed."""
    host = host or socket.gethostname()
    interval = settings.sync_interval_minutes
    configured = {c.corpid for c in settings.corps}
    changed = 0
    if interval > 0:
        for corpid in sorted(configured):
            jid = sync_job_id(corpid)
            payload = {"corpid": corpid, "interval_minutes": interval, "scheduled_by": host}
            job = queue.get(jid)
            if job is not None and job.state != RUNNING and job.payload.get("interval_minutes") != interval:
                queue.delete(jid)  # a crash before the enqueue below is repaired by the next call
                job = None
            if job is None:
                if queue.enqueue(TOPIC_SYNC, payload, delay=interval * 60, ttr=SYNC_TTR,
                                 max_attempts=SYNC_MAX_ATTEMPTS, job_id=jid) is not None:
                    changed += 1
            elif job.state == DEAD and queue.reschedule(jid):
                changed += 1
    for job in queue.list_jobs(topic=TOPIC_SYNC, limit=10_000):
        mine = job.payload.get("scheduled_by") == host
        corpid = job.payload.get("corpid")
        if mine and job.state != RUNNING and (interval == 0 or corpid not in configured):
            changed += queue.delete(job.id)
    return changed


class ScheduledSyncHandler:
    """``sync.scheduled``: one sync of the job's corp with this workstation's settings and secrets."""

    def __init__(self, ctx: AppContext, *, backoff: Backoff = SYNC_BACKOFF, niceness: int = 0) -> None:
        self.ctx = ctx
        self.backoff = backoff
        self.niceness = niceness

    def __call__(self, job: Job, control: JobControl) -> Reschedule:
        from app.core.config.secrets import SecretMissingError
        from app.core.config.settings import SettingsError, load_settings
        from app.core.sync.pipeline import ensure_corp
        from app.core.sync.process import SyncProcessDied, SyncRunFailed, run_sync_process

        queue = control.queue
        corpid = str(job.payload["corpid"])
        interval_ms = max(1, int(job.payload.get("interval_minutes") or 1)) * 60_000

        def retry(error: str) -> Reschedule:
            wait_ms = min(interval_ms, int(self.backoff.delay(job.attempts) * 1000))
            return Reschedule(queue.now_ms() + wait_ms, error=error)

        try:
            corp = load_settings(self.ctx.paths).corp(corpid)
            # In a sync process of its own, like the window's syncs: Tencent's library never
            # loads in this process (which may be the window's), and a crash costs one run.
            report = run_sync_process(self.ctx.sync_plan(corp), cancel=control.cancelled, niceness=self.niceness)
        except SyncRunFailed as exc:
            if exc.error_type == "ConcurrentSyncError":
                log.info("scheduled sync of %s skipped: another sync of this corp is running", corpid)
                return Reschedule(queue.now_ms() + interval_ms)
            return retry(exc.message_en)
        except (SettingsError, SecretMissingError) as exc:
            return retry(f"cannot sync on {socket.gethostname()}: {exc}")
        except (SyncProcessDied, SdkError, SdkLoadError, DatabaseError, OSError) as exc:
            return retry(str(exc))
        if report.outcome == "cancelled":
            raise JobCancelled("the scheduled sync was cancelled")
        try:  # media the sync could not fetch now get their retry jobs at once
            requeue_pending(self.ctx.db, queue, corp_id=ensure_corp(self.ctx.db, corpid))
        except QueueError as exc:
            log.warning("after the scheduled sync of %s: cannot enqueue media retries (%s)", corpid, exc)
        return Reschedule(queue.now_ms() + interval_ms)
