"""``directory.scheduled`` (job id ``directory:<corpid>``): a directory sync of one corp, then the next
one ``interval_hours`` later under the same id — names, the permit list and consent kept current.

Like scheduled syncs (sync.py): the workstation whose ``directory_interval_hours`` is set owns the
schedule (:func:`ensure_scheduled_directory_syncs`); a run that fails (WeCom unreachable, every API
refused) is tried again with backoff, never later than the interval; a run that is partly refused
counts as done (its report says what was refused). WeCom's server API is plain HTTPS: the handler
runs in the worker's thread, no SDK process.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from app.core.queue import RUNNING, Backoff, Job, JobCancelled, JobControl, JobQueue, Reschedule

if TYPE_CHECKING:
    from app.core.config.settings import Settings
    from app.core.context import AppContext

__all__ = ["DIRECTORY_INTERVAL_MAX_HOURS", "TOPIC_DIRECTORY", "ScheduledDirectoryHandler", "directory_job_id",
           "ensure_scheduled_directory_syncs"]

log = logging.getLogger(__name__)

TOPIC_DIRECTORY = "directory.scheduled"
DIRECTORY_TTR = 1800.0  # a directory of 100,000 people takes minutes (one user/get each)
DIRECTORY_MAX_ATTEMPTS = 1000
DIRECTORY_BACKOFF = Backoff(base=300.0, cap=6 * 3600.0, jitter=0.1)
DIRECTORY_INTERVAL_MAX_HOURS = 24 * 31


def directory_job_id(corpid: str) -> str:
    return f"directory:{corpid}"


def _interval_hours(settings: Settings) -> int:
    hours = getattr(settings, "directory_interval_hours", 0)
    return hours if isinstance(hours, int) and not isinstance(hours, bool) and 0 < hours <= \
        DIRECTORY_INTERVAL_MAX_HOURS else 0


def ensure_scheduled_directory_syncs(settings: Settings, queue: JobQueue, *, host: str | None = None) -> int:
    """One ``directory.scheduled`` job per configured corp while ``directory_interval_hours`` is set;
    with 0, remove the schedules this workstation made. Returns how many jobs were created or changed."""
    from app.core.queue import DEAD

    host = host or socket.gethostname()
    hours = _interval_hours(settings)
    configured = {c.corpid for c in settings.corps}
    changed = 0
    if hours:
        for corpid in sorted(configured):
            jid = directory_job_id(corpid)
            payload = {"corpid": corpid, "interval_hours": hours, "scheduled_by": host}
            job = queue.get(jid)
            if job is not None and job.state != RUNNING and job.payload.get("interval_hours") != hours:
                queue.delete(jid)
                job = None
            if job is None:
                # the first run soon after the schedule is set, then every interval
                if queue.enqueue(TOPIC_DIRECTORY, payload, delay=60, ttr=DIRECTORY_TTR,
                                 max_attempts=DIRECTORY_MAX_ATTEMPTS, job_id=jid) is not None:
                    changed += 1
            elif job.state == DEAD and queue.reschedule(jid):
                changed += 1
    for job in queue.list_jobs(topic=TOPIC_DIRECTORY, limit=10_000):
        mine = job.payload.get("scheduled_by") == host
        if mine and job.state != RUNNING and (not hours or job.payload.get("corpid") not in configured):
            changed += queue.delete(job.id)
    return changed


class ScheduledDirectoryHandler:
    """``directory.scheduled``: one directory sync of the job's corp with this workstation's settings
    and secrets, as ``system:scheduled-directory-sync``."""

    def __init__(self, ctx: AppContext, *, backoff: Backoff = DIRECTORY_BACKOFF) -> None:
        self.ctx = ctx
        self.backoff = backoff

    def __call__(self, job: Job, control: JobControl) -> Reschedule:
        from app.core.config.secrets import SecretMissingError
        from app.core.config.settings import SettingsError, load_settings
        from app.core.directory.service import DirectorySetupError, sync_directory
        from app.core.directory.sync import DirectoryBusy
        from app.core.store.db import DatabaseError

        queue = control.queue
        corpid = str(job.payload["corpid"])
        interval_ms = max(1, int(job.payload.get("interval_hours") or 1)) * 3_600_000

        def retry(error: str) -> Reschedule:
            wait_ms = min(interval_ms, int(self.backoff.delay(job.attempts) * 1000))
            return Reschedule(queue.now_ms() + wait_ms, error=error)

        try:
            corp = load_settings(self.ctx.paths).corp(corpid)
            report = sync_directory(self.ctx, None, corp, cancel=control.cancelled)
        except DirectoryBusy:
            log.info("scheduled directory sync of %s skipped: another one is running", corpid)
            return Reschedule(queue.now_ms() + interval_ms)
        except (SettingsError, SecretMissingError, DirectorySetupError) as exc:
            return retry(f"cannot sync the directory on {socket.gethostname()}: {exc}")
        except (DatabaseError, OSError) as exc:
            return retry(str(exc))
        if report.outcome == "cancelled":
            raise JobCancelled("the scheduled directory sync was cancelled")
        if report.outcome == "failed":
            return retry(report.error or "the directory sync failed")
        return Reschedule(queue.now_ms() + interval_ms)
