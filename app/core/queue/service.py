"""What people do with the queue (the GUI's queue view, ``wecom-auditor jobs``): look, retry,
delete, re-enqueue from the archive. Every call takes the acting :class:`~app.core.actor.Actor`
first: looking needs ``archive.status``, changing jobs ``sync.run`` (an administrator's), else
:class:`~app.core.auth.errors.PermissionDenied`. Jobs hold ids, never message content."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.core.actor import Actor
from app.core.auth.roles import ARCHIVE_STATUS, SYNC_RUN, can, require

from .base import STATES, Job, JobQueue

if TYPE_CHECKING:
    from app.core.config.settings import Settings
    from app.core.store.db import Database

log = logging.getLogger(__name__)

# (archive database, queue, settings or None) -> how many jobs were created or changed
Restorer = Callable[[Any, JobQueue, Any], int]
_RESTORERS: list[Restorer] = []


def register_restorer(restore: Restorer) -> None:
    """Add a way to enqueue the jobs the archive database says are missing (the app's jobs do:
    app/core/jobs); :meth:`QueueService.requeue` runs every one. The queue itself knows no job."""
    if restore not in _RESTORERS:
        _RESTORERS.append(restore)


class QueueService:
    def __init__(self, queue: JobQueue, db: Database | None = None) -> None:
        self.queue = queue
        self.db = db

    @staticmethod
    def may_change(actor: Actor) -> bool:
        """Whether ``actor`` may retry, delete and re-enqueue jobs (for enabling buttons)."""
        return can(actor, SYNC_RUN)

    def counts(self, actor: Actor, *, topic: str | None = None) -> dict[str, int]:
        require(actor, ARCHIVE_STATUS)
        counts = self.queue.counts(topic=topic)
        return {s: counts.get(s, 0) for s in STATES}

    def jobs(self, actor: Actor, *, state: str | None = None, topic: str | None = None, limit: int = 200,
             offset: int = 0) -> list[Job]:
        require(actor, ARCHIVE_STATUS)
        return self.queue.list_jobs(state, topic=topic, limit=limit, offset=offset)

    def job(self, actor: Actor, job_id: str) -> Job | None:
        require(actor, ARCHIVE_STATUS)
        return self.queue.get(job_id)

    def retry(self, actor: Actor, job_id: str) -> bool:
        """Run a dead (or waiting) job again now, with a fresh attempt budget if it was dead."""
        require(actor, SYNC_RUN)
        done = self.queue.retry(job_id)
        if done:
            log.info("%s retried job %s", actor.username, job_id)
        return done

    def delete(self, actor: Actor, job_id: str) -> bool:
        require(actor, SYNC_RUN)
        done = self.queue.delete(job_id)
        if done:
            log.info("%s deleted job %s", actor.username, job_id)
        return done

    def requeue(self, actor: Actor, settings: Settings | None = None) -> int:
        """Enqueue the jobs the archive database says are missing (the app's: pending media; the sync
        schedule of ``settings`` if given), through every registered restorer. Returns how many jobs
        were created or changed."""
        require(actor, SYNC_RUN)
        if self.db is None:
            raise ValueError("re-enqueueing needs the archive database")
        if not _RESTORERS:
            raise ValueError("no jobs are known to re-enqueue (app.core.jobs registers them)")
        created = sum(restore(self.db, self.queue, settings) for restore in _RESTORERS)
        log.info("%s re-enqueued %d job(s) from the archive database", actor.username, created)
        return created
