"""The app's background jobs, run by the generic delay queue (app/core/queue), which knows none of them.

Each kind of job is declared once in :data:`JOBS`: its topic, how to make its handler, and how the
archive database (the source of truth) puts back the jobs a queue lost. The kinds:

``media.download`` (media.py)
    Retry a media download that failed or has not happened yet, until WeCom's retention window ends.
``sync.scheduled`` (sync.py)
    Sync one corp every ``sync_interval_minutes``.
``directory.scheduled`` (directory.py)
    Sync one corp's directory (names, permit list, consent) every ``directory_interval_hours``.
``backup.scheduled`` (backup.py)
    Back up the archive into ``backup_folder`` every ``backup_interval_hours`` (on the computer that set it).

:func:`build_worker` makes a :class:`~app.core.queue.Worker` with the handlers of the topics asked
for; it restores their jobs from the archive at start and every few minutes. ``QueueService.requeue``
(the queue view's and ``wecom-auditor jobs requeue``'s re-enqueue) runs the same restorers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from app.core.config.settings import Settings, load_settings
from app.core.queue import JobQueue, Worker, WorkerEvent
from app.core.queue.service import register_restorer
from app.core.queue.worker import Handler

from .backup import TOPIC_BACKUP, ScheduledBackupHandler, ensure_scheduled_backups
from .directory import TOPIC_DIRECTORY, ScheduledDirectoryHandler, ensure_scheduled_directory_syncs
from .media import (
    MEDIA_RETENTION_MS,
    TOPIC_MEDIA,
    MediaDownloadHandler,
    media_job_id,
    requeue_pending,
)
from .sync import TOPIC_SYNC, ScheduledSyncHandler, ensure_scheduled_syncs, sync_job_id

if TYPE_CHECKING:
    from app.core.context import AppContext
    from app.core.store.db import Database


class MakeHandler(Protocol):
    """A job kind's handler for one worker: ``niceness`` lowers the CPU priority of its child processes."""

    def __call__(self, ctx: AppContext, *, niceness: int = 0) -> Handler: ...

__all__ = [
    "JOBS", "MEDIA_RETENTION_MS", "TOPICS", "TOPIC_MEDIA", "TOPIC_SYNC", "JobKind", "MediaDownloadHandler",
    "ScheduledSyncHandler", "build_worker", "ensure_scheduled_syncs", "media_job_id", "requeue_pending",
    "sync_job_id",
]


@dataclass(frozen=True)
class JobKind:
    """One kind of background job.

    ``make_handler(ctx, niceness=)``: its handler (``(job, control) -> None | Reschedule``, raising the
    worker's outcomes); one with a ``close()`` is closed after the worker has been joined.
    ``maintain(ctx, queue)``: run when a worker starts and every few minutes (enqueue what the archive
    says is missing). ``restore(db, queue, settings or None)``: the same for ``QueueService.requeue``;
    returns how many jobs it created or changed."""

    topic: str
    make_handler: MakeHandler
    maintain: Callable[[AppContext, JobQueue], object] | None = None
    restore: Callable[[Database, JobQueue, Settings | None], int] | None = None


def _schedule_syncs(ctx: AppContext, queue: JobQueue) -> object:
    return ensure_scheduled_syncs(load_settings(ctx.paths), queue)


JOBS: tuple[JobKind, ...] = (
    JobKind(TOPIC_MEDIA, lambda ctx, niceness=0: MediaDownloadHandler(ctx),
            maintain=lambda ctx, queue: requeue_pending(ctx.db, queue),
            restore=lambda db, queue, settings: requeue_pending(db, queue)),
    JobKind(TOPIC_SYNC, lambda ctx, niceness=0: ScheduledSyncHandler(ctx, niceness=niceness),
            maintain=_schedule_syncs,
            restore=lambda db, queue, settings: ensure_scheduled_syncs(settings, queue) if settings is not None else 0),
    JobKind(TOPIC_DIRECTORY, lambda ctx, niceness=0: ScheduledDirectoryHandler(ctx),
            maintain=lambda ctx, queue: ensure_scheduled_directory_syncs(load_settings(ctx.paths), queue),
            restore=lambda db, queue, settings: ensure_scheduled_directory_syncs(settings, queue)
            if settings is not None else 0),
    JobKind(TOPIC_BACKUP, lambda ctx, niceness=0: ScheduledBackupHandler(ctx),
            maintain=lambda ctx, queue: ensure_scheduled_backups(load_settings(ctx.paths), queue),
            restore=lambda db, queue, settings: ensure_scheduled_backups(settings, queue) if settings is not None else 0),
)
TOPICS = tuple(kind.topic for kind in JOBS)


def _restore(db: Database, queue: JobQueue, settings: Settings | None) -> int:
    return sum(kind.restore(db, queue, settings) for kind in JOBS if kind.restore is not None)


register_restorer(_restore)


def build_worker(ctx: AppContext, queue: JobQueue, *, topics: Collection[str] = TOPICS, concurrency: int = 1, name: str = "worker",
                 until_idle: bool = False, on_event: Callable[[WorkerEvent], None] | None = None,
                 maintenance_interval: float = 300.0, media_handler: MediaDownloadHandler | None = None,
                 niceness: int = 0) -> tuple[Worker, Callable[[], None]]:
    """A :class:`Worker` with the app's handlers for ``topics``, which restores their jobs from the
    archive (pending media, the sync schedule) at start and every ``maintenance_interval`` seconds.
    Returns the worker and a function to call after it has been joined (it closes the handlers: the
    SDK handles). ``media_handler`` replaces the media handler (tests); ``niceness`` lowers the CPU
    priority of scheduled syncs' processes (the window's runner leaves the CPU to the GUI).
    ValueError for an unknown topic."""
    unknown = set(topics) - set(TOPICS)
    if unknown:
        raise ValueError(f"unknown job topic(s): {', '.join(sorted(unknown))} (known: {', '.join(TOPICS)})")
    chosen = [kind for kind in JOBS if kind.topic in topics]
    handlers: dict[str, Handler] = {}
    for kind in chosen:
        given = media_handler if kind.topic == TOPIC_MEDIA else None
        handlers[kind.topic] = given or kind.make_handler(ctx, niceness=niceness)
    maintenance = [lambda kind=kind: kind.maintain(ctx, queue) for kind in chosen if kind.maintain is not None]
    worker = Worker(queue, handlers, concurrency=concurrency, name=name, until_idle=until_idle, on_event=on_event,
                    maintenance=maintenance, maintenance_interval=maintenance_interval)

    def close() -> None:
        for handler in handlers.values():
            closer = getattr(handler, "close", None)
            if closer is not None:
                closer()

    return worker, close
