"""The delay queue's vocabulary: jobs, their states, the backoff policy and the :class:`JobQueue` interface.

The concepts are the seed's (``msg-server``'s Redis delay queue): a job has an id, a topic, a JSON
payload, the time it may run (``execute_at``, ms since the epoch) and a TTR ("time to run", seconds).
Jobs wait in time buckets until they are due, then in a per-topic ready queue until a consumer
reserves one. Unlike the seed, every move is one atomic step, and delivery is *at least once*:

* :meth:`JobQueue.reserve` leases a job to one consumer for its TTR. While the lease holds, no other
  consumer gets the job (on any machine sharing the queue).
* :meth:`JobQueue.ack` deletes a finished job. A job not acknowledged within its TTR (the consumer
  died, hung, or lost its connection) is delivered again; long jobs keep their lease with
  :meth:`JobQueue.extend`.
* :meth:`JobQueue.fail` re-schedules a job with exponential backoff until it has been delivered
  ``max_attempts`` times; then it is parked as *dead* with its last error, until someone retries or
  deletes it (GUI queue view, ``wecom-auditor jobs``).

Handlers must therefore be idempotent: a job may run again after a crash at any point.

States: ``scheduled`` (waiting for its time), ``ready`` (due, waiting for a consumer), ``running``
(leased), ``dead``. Times come from the queue's own clock (the Redis server's or the database
server's), so that machines whose clocks disagree still agree on leases.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

__all__ = [
    "DEAD", "READY", "RUNNING", "SCHEDULED", "STATES",
    "Backoff", "Job", "JobQueue", "JobSpec", "QueueError", "QueueUnavailable",
    "validate_job_id", "validate_topic",
]

SCHEDULED, READY, RUNNING, DEAD = "scheduled", "ready", "running", "dead"
STATES = (SCHEDULED, READY, RUNNING, DEAD)

MAX_ID_LENGTH = 191  # fits a utf8mb4 primary key on MySQL
MAX_PAYLOAD_BYTES = 64 * 1024  # a job points at data; it does not carry it
DEFAULT_TTR = 60.0
DEFAULT_MAX_ATTEMPTS = 5

_TOPIC_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_ID_RE = re.compile(r"[A-Za-z0-9._:@/-]{1,191}")


class QueueError(RuntimeError):
    """The queue cannot do what was asked; the message says what and why."""


class QueueUnavailable(QueueError):
    """The queue's store (Redis, the database) cannot be reached right now; retrying later may work."""


def validate_topic(topic: str) -> str:
    if not isinstance(topic, str) or not _TOPIC_RE.fullmatch(topic):
        raise ValueError(f"invalid job topic {topic!r}: use 1-64 characters of a-z, 0-9, '.', '_', '-'")
    return topic


def validate_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not _ID_RE.fullmatch(job_id):
        raise ValueError(f"invalid job id {job_id!r}: use 1-{MAX_ID_LENGTH} characters of letters, digits "
                         f"and . _ : @ / -")
    return job_id


def encode_payload(payload: Any) -> str:
    """The payload as compact JSON text; ValueError if it is not JSON or too large."""
    try:
        text = json.dumps({} if payload is None else payload, ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a job payload must be JSON data: {exc}") from None
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a job payload is limited to {MAX_PAYLOAD_BYTES // 1024} KB; store the data "
                         f"elsewhere and put its id in the payload")
    return text


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: the n-th failure waits ``min(cap, base * 2**(n-1))`` seconds, spread by
    ``±jitter`` (a fraction) so that jobs failing together do not all retry together."""

    base: float = 5.0
    cap: float = 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or not 0 <= self.jitter < 1:
            raise ValueError("backoff base and cap must be >= 0 and jitter within [0, 1)")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th delivery failed (attempts >= 1)."""
        exponent = min(max(attempts, 1) - 1, 62)
        value = min(self.cap, self.base * (2.0 ** exponent))
        if self.jitter:
            value *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(0.0, value)


@dataclass(frozen=True)
class JobSpec:
    """A job to enqueue (see :meth:`JobQueue.enqueue` for the fields)."""

    topic: str
    payload: Any = None
    delay: float = 0.0
    execute_at: int | None = None
    ttr: float = DEFAULT_TTR
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    job_id: str | None = None


@dataclass(frozen=True)
class Job:
    """One job as the queue holds it. ``payload`` is the decoded JSON.

    ``attempts`` counts deliveries (it is 1 during the first run). ``lease_until`` (ms) and ``token``
    are set while the job is running: the token identifies this lease, so that a consumer whose
    lease expired cannot acknowledge or fail the job another consumer now holds. ``owner`` names
    the consumer holding the lease ("host:pid/thread"). ``state`` is one of :data:`STATES`.
    """

    id: str
    topic: str
    payload: Any
    execute_at: int
    ttr: float
    attempts: int
    max_attempts: int
    state: str
    last_error: str | None = None
    created_at: int = 0
    updated_at: int = 0
    lease_until: int | None = None
    token: str | None = None
    owner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-able data (without the lease token)."""
        return {"id": self.id, "topic": self.topic, "state": self.state, "payload": self.payload,
                "execute_at": self.execute_at, "ttr": self.ttr, "attempts": self.attempts,
                "max_attempts": self.max_attempts, "last_error": self.last_error, "created_at": self.created_at,
                "updated_at": self.updated_at, "lease_until": self.lease_until, "owner": self.owner}


class JobQueue(ABC):
    """The delay queue. Implementations: :class:`~app.core.queue.redis_queue.RedisQueue` and
    :class:`~app.core.queue.db_queue.DatabaseQueue` (the embedded default). All methods are
    thread-safe; all may raise :class:`QueueUnavailable` when the store cannot be reached and
    :class:`QueueError` for other failures of the store."""

    backoff: Backoff

    # -- producers
    @abstractmethod
    def enqueue(self, topic: str, payload: Any = None, *, delay: float = 0.0, execute_at: int | None = None,
                ttr: float = DEFAULT_TTR, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                job_id: str | None = None) -> str | None:
        """Add a job; returns its id, or None when ``job_id`` was given and a job with that id
        already exists in any state (nothing is changed: enqueueing by id is idempotent).

        ``execute_at`` (ms since the epoch) wins over ``delay`` (seconds from now, by the queue's
        clock). ``ttr`` is the lease in seconds (> 0); ``max_attempts`` >= 1 deliveries before the
        job is dead. ValueError for an invalid topic, id or payload.
        """

    def enqueue_many(self, specs: Iterable[JobSpec]) -> int:
        """Enqueue several jobs (idempotently for those with an id); returns how many were created."""
        created = 0
        for s in specs:
            if self.enqueue(s.topic, s.payload, delay=s.delay, execute_at=s.execute_at, ttr=s.ttr,
                            max_attempts=s.max_attempts, job_id=s.job_id) is not None:
                created += 1
        return created

    # -- consumers
    @abstractmethod
    def reserve(self, topics: Sequence[str], timeout: float = 0.0, *, owner: str | None = None) -> Job | None:
        """The next due job of one of ``topics`` (earliest ``execute_at`` first within what is due),
        leased to the caller for its TTR, or None if none became due within ``timeout`` seconds.
        Also runs the timer step (:meth:`tick`): due jobs move to their ready queue and expired
        leases are delivered again (or parked dead after ``max_attempts``)."""

    @abstractmethod
    def ack(self, job: Job) -> bool:
        """The job is done: delete it. False (and nothing changes) if the lease was lost meanwhile
        (it expired and the job went to another consumer, or the job was deleted)."""

    @abstractmethod
    def fail(self, job: Job, error: str, *, delay: float | None = None) -> str | None:
        """The run failed: schedule the job again after ``delay`` seconds (default: the backoff for
        its attempt count), or park it dead if it has had ``max_attempts`` deliveries. Returns the
        new state (``scheduled``/``dead``), or None if the lease was lost."""

    @abstractmethod
    def bury(self, job: Job, error: str) -> bool:
        """The job can never succeed: park it dead now with ``error``. False if the lease was lost."""

    @abstractmethod
    def release(self, job: Job, *, delay: float = 0.0) -> bool:
        """Give the job back unfinished (a consumer shutting down): it becomes due again after
        ``delay`` seconds and this delivery does not count as an attempt. False if the lease was lost."""

    @abstractmethod
    def repeat(self, job: Job, execute_at: int, *, error: str | None = None) -> bool:
        """Finish this run of a recurring job and schedule its next run at ``execute_at`` (ms), under
        the same id. Without ``error`` the attempt count and last error are cleared (the run
        succeeded); with one, both are kept. False if the lease was lost."""

    @abstractmethod
    def extend(self, job: Job, ttr: float | None = None) -> int | None:
        """Renew the lease for ``ttr`` seconds (default: the job's TTR) from now; returns the new
        ``lease_until`` (ms), or None if the lease was lost (the caller should stop the job)."""

    @abstractmethod
    def tick(self) -> int:
        """The timer step: move due jobs to their ready queues, redeliver or bury jobs whose lease
        expired. Returns how many jobs moved. :meth:`reserve` does this too."""

    # -- inspection and administration
    @abstractmethod
    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""

    @abstractmethod
    def list_jobs(self, state: str | None = None, *, topic: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[Job]:
        """Jobs in ``state`` (any state if None), optionally of one topic. Scheduled and ready jobs
        come in execute-at order, running ones by lease end, dead ones newest first. Runs the timer
        step first (as does :meth:`counts`), so that a job whose lease expired is not shown running."""

    @abstractmethod
    def counts(self, *, topic: str | None = None) -> dict[str, int]:
        """The number of jobs in each of :data:`STATES`."""

    @abstractmethod
    def reschedule(self, job_id: str, execute_at: int | None = None) -> bool:
        """Make a dead or waiting job due at ``execute_at`` (default: now). A dead job starts again
        with its attempt count reset (its last error is kept until it runs). False if there is no
        such job or it is running."""

    def retry(self, job_id: str) -> bool:
        """Run a dead (or scheduled) job again now; see :meth:`reschedule`."""
        return self.reschedule(job_id)

    @abstractmethod
    def delete(self, job_id: str) -> bool:
        """Remove the job whatever its state; False if there is none. A consumer running it then
        finds its lease lost."""

    @abstractmethod
    def now_ms(self) -> int:
        """The queue's clock (ms since the epoch)."""

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the jobs live, for people (never with a password)."""

    def close(self) -> None:  # noqa: B027  (optional: most backends hold nothing to release)
        """Release connections. The queue must not be used afterwards."""


def check_enqueue_args(topic: str, ttr: float, max_attempts: int, job_id: str | None, delay: float,
                       execute_at: int | None) -> None:
    validate_topic(topic)
    if job_id is not None:
        validate_job_id(job_id)
    if not ttr > 0:
        raise ValueError(f"a job's TTR must be more than 0 seconds, not {ttr!r}")
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts must be an integer >= 1, not {max_attempts!r}")
    if execute_at is None and delay < 0:
        raise ValueError(f"delay must be >= 0 seconds, not {delay!r}")
    if execute_at is not None and (not isinstance(execute_at, int) or execute_at < 0):
        raise ValueError(f"execute_at must be an integer of ms since the epoch, not {execute_at!r}")


def check_state(state: str | None) -> None:
    if state is not None and state not in STATES:
        raise ValueError(f"unknown job state {state!r}: use one of {', '.join(STATES)}")


@overload
def short_error(error: str, limit: int = 4000) -> str: ...
@overload
def short_error(error: None, limit: int = 4000) -> None: ...
def short_error(error: str | None, limit: int = 4000) -> str | None:
    """An error text bounded in size (a traceback must not bloat every job)."""
    if error is None:
        return None
    error = str(error)
    return error if len(error) <= limit else error[: limit - 1] + "…"


def default_owner() -> str:
    """Who holds a lease, for humans reading the queue: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}/{threading.current_thread().name}"[:255]
