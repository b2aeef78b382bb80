"""The delay queue: jobs with a topic, a time to run and a TTR lease, delivered at least once.

``base`` defines the interface (:class:`JobQueue`) and vocabulary; ``redis_queue`` (a team's shared
Redis) and ``db_queue`` (the embedded default, on the archive database) implement it with the same
semantics; ``worker`` runs handlers on threads; ``service`` is what the GUI and CLI call.
:func:`open_queue` picks the backend from the settings (``queue_url``, checked in
app/core/config/queue_settings.py). The queue knows no job: the app's (media download retries,
scheduled syncs) are in app/core/jobs, which registers how to re-enqueue them from the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import (
    DEAD,
    READY,
    RUNNING,
    SCHEDULED,
    STATES,
    Backoff,
    Job,
    JobQueue,
    JobSpec,
    QueueError,
    QueueUnavailable,
)
from .service import QueueService
from .worker import JobCancelled, JobControl, PermanentFailure, Reschedule, RetryLater, Worker, WorkerEvent

if TYPE_CHECKING:
    from app.core.config.settings import Settings
    from app.core.context import AppContext
    from app.core.store.db import Database

__all__ = [
    "DEAD", "READY", "RUNNING", "SCHEDULED", "STATES",
    "Backoff", "Job", "JobQueue", "JobSpec", "QueueError", "QueueUnavailable",
    "QueueService",
    "JobCancelled", "JobControl", "PermanentFailure", "Reschedule", "RetryLater", "Worker", "WorkerEvent",
    "open_queue",
]


def open_queue(source: AppContext | Settings | str, db: Database | None = None, *, backoff: Backoff | None = None, poll_interval: float | None = None,
               prefix: str | None = None) -> JobQueue:
    """The job queue the settings choose.

    ``source`` is an :class:`~app.core.context.AppContext` (its settings, secrets and database), a
    :class:`~app.core.config.settings.Settings`, or a queue URL: ``""`` is the embedded queue in the
    archive database ``db`` (taken from the context when not given), ``redis://host:port/db`` (with an
    optional ``?prefix=NAME``) is Redis, its password read from the keyring or
    ``WECOM_AUDITOR_REDIS_PASSWORD``. Nothing is contacted until the queue is used; then an
    unreachable store raises :class:`QueueUnavailable`. ValueError for a malformed URL.
    """
    from app.core.config.secrets import SecretStore

    secrets = getattr(source, "secrets", None)
    if isinstance(source, str):
        url = source
    elif hasattr(source, "settings"):
        url = source.settings.queue_url
    else:
        url = source.queue_url
    options: dict[str, Any] = {} if poll_interval is None else {"poll_interval": poll_interval}
    if not url:
        if db is None:
            if not hasattr(source, "db"):
                raise ValueError("the embedded job queue needs the archive database")
            db = source.db
        from .db_queue import DatabaseQueue

        return DatabaseQueue(db, backoff=backoff, **options)
    from .redis_queue import RedisQueue

    password = (secrets or SecretStore()).redis_password(url)
    return RedisQueue(url, password=password, prefix=prefix, backoff=backoff, **options)
