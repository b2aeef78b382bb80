"""``backup.scheduled`` (job id ``backup:<host>``): a backup of the archive into the folder the settings
name (``backup_folder``), then the next one ``backup_interval_hours`` later under the same id.

The computer whose settings hold the schedule owns it (:func:`ensure_scheduled_backups`): its folder
is one of its own (a disk, a mounted share), so the job runs only there — a worker on another
machine sharing the queue (a team's server) hands it back a minute later without backing anything
up. Each run is ``make_backup`` as ``system:scheduled-backup``: the same backup as
``wecom-auditor backup --to``, recorded in the audit trail the same way (a failed run too); an
incremental one continuing the folder's chain. A run that fails (the folder unreachable, a full
disk, the export key's passphrase missing) is tried again with backoff, never later than the
interval, and keeps the error as the job's last error.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from app.core.queue import DEAD, RUNNING, Backoff, Job, JobCancelled, JobControl, JobQueue, Reschedule

if TYPE_CHECKING:
    from app.core.config.settings import Settings
    from app.core.context import AppContext

__all__ = ["BACKUP_INTERVAL_MAX_HOURS", "TOPIC_BACKUP", "ScheduledBackupHandler", "backup_job_id",
           "ensure_scheduled_backups"]

log = logging.getLogger(__name__)

TOPIC_BACKUP = "backup.scheduled"
BACKUP_TTR = 1800.0  # renewed every third while the backup runs: bounds how long a dead worker holds it
BACKUP_MAX_ATTEMPTS = 1000
BACKUP_BACKOFF = Backoff(base=300.0, cap=6 * 3600.0, jitter=0.1)
BACKUP_INTERVAL_MAX_HOURS = 24 * 31
ELSEWHERE_WAIT_MS = 60_000  # a worker on another machine hands the job back after this long
FIRST_RUN_DELAY_S = 60


def backup_job_id(host: str) -> str:
    return f"backup:{host}"


def _interval_hours(settings: Settings) -> int:
    hours = getattr(settings, "backup_interval_hours", 0)
    folder = getattr(settings, "backup_folder", "")
    ok = isinstance(hours, int) and not isinstance(hours, bool) and 0 < hours <= BACKUP_INTERVAL_MAX_HOURS
    return hours if ok and isinstance(folder, str) and folder.strip() else 0


def ensure_scheduled_backups(settings: Settings, queue: JobQueue, *, host: str | None = None) -> int:
    """One ``backup.scheduled`` job for this computer while ``backup_interval_hours`` and
    ``backup_folder`` are set (a changed interval or folder replaces it); with 0, remove it. Returns
    how many jobs were created or changed."""
    host = host or socket.gethostname()
    hours = _interval_hours(settings)
    jid = backup_job_id(host)
    job = queue.get(jid)
    if not hours:
        return int(queue.delete(jid)) if job is not None and job.state != RUNNING else 0
    payload = {"folder": settings.backup_folder.strip(), "interval_hours": hours, "scheduled_by": host}
    changed = 0
    if job is not None and job.state != RUNNING and {k: job.payload.get(k) for k in payload} != payload:
        queue.delete(jid)  # a crash before the enqueue below is repaired by the next call
        job, changed = None, 1
    if job is None:
        if queue.enqueue(TOPIC_BACKUP, payload, delay=FIRST_RUN_DELAY_S, ttr=BACKUP_TTR,
                         max_attempts=BACKUP_MAX_ATTEMPTS, job_id=jid) is not None:
            changed = 1
    elif job.state == DEAD and queue.reschedule(jid):
        changed = 1
    return changed


class ScheduledBackupHandler:
    """``backup.scheduled``: one backup into the job's folder, on the computer that scheduled it."""

    def __init__(self, ctx: AppContext, *, backoff: Backoff = BACKUP_BACKOFF, host: str | None = None) -> None:
        self.ctx = ctx
        self.backoff = backoff
        self.host = host or socket.gethostname()

    def __call__(self, job: Job, control: JobControl) -> Reschedule:
        from app.core.actor import Actor
        from app.core.backup import BackupCancelled, BackupError, make_backup
        from app.core.export.signing import ExportKeyError
        from app.core.store.db import DatabaseError

        queue = control.queue
        folder = str(job.payload.get("folder") or "")
        owner = str(job.payload.get("scheduled_by") or "")
        interval_ms = max(1, int(job.payload.get("interval_hours") or 1)) * 3_600_000
        if owner != self.host:
            return Reschedule(queue.now_ms() + ELSEWHERE_WAIT_MS,
                              error=f"waiting for {owner}: the backup folder {folder} is one of its folders")

        def retry(error: str) -> Reschedule:
            wait_ms = min(interval_ms, int(self.backoff.delay(job.attempts) * 1000))
            return Reschedule(queue.now_ms() + wait_ms, error=error)

        if not folder:
            return retry("the scheduled backup names no folder")
        try:
            result = make_backup(self.ctx, Actor.system("scheduled-backup"), folder, cancel=control.cancelled)
        except BackupCancelled:
            raise JobCancelled("the scheduled backup was cancelled") from None
        except ExportKeyError as exc:
            return retry(f"cannot sign the backup on {self.host}: {exc}")
        except (BackupError, DatabaseError, OSError) as exc:
            return retry(str(exc))
        if result.media_problems:
            log.warning("scheduled backup %s: %d media file(s) could not be backed up (first: %s)", result.backup_id,
                        len(result.media_problems), result.media_problems[0])
        return Reschedule(queue.now_ms() + interval_ms)
