"""The embedded delay queue: the same interface and semantics on the archive's own database.

The default on a single workstation (no Redis to run), and it works as well for a team sharing a
MySQL/MariaDB archive. One table, ``jobs`` (migration 0005): a job is ``scheduled`` (it is *ready*
once its ``execute_at`` has come), ``running`` (leased until ``lease_until`` under ``lease_token``)
or ``dead``.

Atomic steps:

* reserve: one write transaction picks the earliest due job and leases it. On SQLite the
  transaction is ``BEGIN IMMEDIATE`` (one writer at a time); on MySQL/MariaDB the candidate row is
  read with ``SELECT … FOR UPDATE SKIP LOCKED`` (MariaDB 10.6+, MySQL 8), so concurrent consumers
  skip each other's rows instead of waiting or taking the same one.
* ack, fail, release, extend: one conditional statement on (id, state = running, lease_token), so
  a consumer whose lease expired changes nothing.
* the timer step (reaping expired leases) runs inside the reserve transaction.

Idle consumers look with a cheap read (no write lock) and sleep until the next job is due, at
most ``poll_interval`` seconds; enqueues in the same process wake them at once. Times come from
the database server's clock on MySQL (so workstations whose clocks disagree still agree on
leases) and from this machine's clock on SQLite (one machine).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from app.core.store.db import Database, now_ms
from app.core.store.models import JOB_DEAD, JOB_RUNNING, JOB_SCHEDULED, QueueJob

from .base import (
    DEAD,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TTR,
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
    check_enqueue_args,
    check_state,
    default_owner,
    encode_payload,
    short_error,
    validate_job_id,
)

__all__ = ["DatabaseQueue"]

_T = QueueJob.__table__
_R = TypeVar("_R")
_MYSQL_RETRY_CODES = {1205, 1213}  # lock wait timeout, deadlock: the transaction may simply be run again
REAP_LIMIT = 100
REAP_EVERY = 1.0  # seconds: how often a busy consumer still looks for expired leases


class DatabaseQueue(JobQueue):
    """The delay queue in the archive database's ``jobs`` table. Thread-safe.

    ``db`` is the process's :class:`~app.core.store.db.Database` (the queue does not close it).
    """

    def __init__(self, db: Database, *, backoff: Backoff | None = None, poll_interval: float = 0.5):
        self.db = db
        self.backoff = backoff or Backoff()
        self.poll_interval = poll_interval
        self._mysql = not db.is_sqlite
        self._wake = threading.Condition()
        self._generation = 0
        self._hot = False  # the last reserve found a job: the next one skips the idle look
        self._last_look = 0.0
        self._insert_ignore = insert(_T).prefix_with("IGNORE", dialect="mysql").prefix_with("OR IGNORE",
                                                                                          dialect="sqlite")
        # The hot path's statements, built once (building SQLAlchemy expressions costs more than SQLite).
        self._q_next_lease = select(func.min(_T.c.lease_until)).where(_T.c.state == JOB_RUNNING)
        self._q_candidate = (
            select(_T).where(_T.c.state == JOB_SCHEDULED, _T.c.topic == bindparam("topic"),
                             _T.c.execute_at <= bindparam("now"))
            .order_by(_T.c.execute_at, _T.c.seq).limit(1).with_for_update(skip_locked=True))
        self._q_lease = update(_T).where(_T.c.id == bindparam("job_id")).values(
            state=JOB_RUNNING, attempts=_T.c.attempts + 1, lease_until=bindparam("lease"),
            lease_token=bindparam("token"), owner=bindparam("owner"), updated_at=bindparam("now"))
        self._q_ack = delete(_T).where(_T.c.id == bindparam("job_id"), _T.c.state == JOB_RUNNING,
                                       _T.c.lease_token == bindparam("token"))

    # ------------------------------------------------------------------ helpers
    @property
    def description(self) -> str:
        return f"the archive database ({self.db.display_url}, table jobs)"

    def _run(self, fn: Callable[[], _R]) -> _R:
        """Run ``fn`` (one transaction), again after a MySQL deadlock; map errors to QueueError."""
        for attempt in range(5):
            try:
                return fn()
            except OperationalError as exc:
                code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
                if self._mysql and code in _MYSQL_RETRY_CODES and attempt < 4:
                    time.sleep(0.01 * (attempt + 1))
                    continue
                raise QueueUnavailable(f"the job queue's database {self.db.display_url} cannot be used right "
                                       f"now: {exc.orig if exc.orig is not None else exc}") from None
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise QueueUnavailable(f"lost the connection to the job queue's database "
                                           f"{self.db.display_url}: {exc.orig}") from None
                raise QueueError(f"the job queue's database {self.db.display_url} failed: {exc.orig}") from None
            except SQLAlchemyError as exc:
                raise QueueError(f"the job queue's database {self.db.display_url} failed: {exc}") from None
        raise AssertionError("unreachable")

    def _now(self, conn: Connection) -> int:
        if self._mysql:
            return int(conn.execute(text("SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)")).scalar_one())
        return now_ms()

    def _notify(self) -> None:
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    @staticmethod
    def _to_job(row: Row[*tuple[Any, ...]], now: int) -> Job:
        state = row.state
        if state == JOB_SCHEDULED and row.execute_at <= now:
            state = READY
        return Job(id=row.id, topic=row.topic, payload=json.loads(row.payload or "{}"), execute_at=row.execute_at,
                   ttr=row.ttr_ms / 1000, attempts=row.attempts, max_attempts=row.max_attempts, state=state,
                   last_error=row.last_error, created_at=row.created_at, updated_at=row.updated_at,
                   lease_until=row.lease_until, token=row.lease_token, owner=row.owner)

    def _row(self, s: JobSpec, now: int) -> dict[str, Any]:
        check_enqueue_args(s.topic, s.ttr, s.max_attempts, s.job_id, s.delay, s.execute_at)
        at = s.execute_at if s.execute_at is not None else now + int(round(s.delay * 1000))
        return {"id": s.job_id or uuid.uuid4().hex, "seq": self.db.ids.next_id(), "topic": s.topic,
                "payload": encode_payload(s.payload), "state": JOB_SCHEDULED, "execute_at": at,
                "ttr_ms": max(1, int(round(s.ttr * 1000))), "attempts": 0, "max_attempts": s.max_attempts,
                "last_error": None, "lease_until": None, "lease_token": None, "owner": None,
                "created_at": now, "updated_at": now}

    # ------------------------------------------------------------------ producers
    def enqueue(self, topic: str, payload: Any = None, *, delay: float = 0.0, execute_at: int | None = None,
                ttr: float = DEFAULT_TTR, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                job_id: str | None = None) -> str | None:
        spec = JobSpec(topic, payload, delay, execute_at, ttr, max_attempts, job_id)
        check_enqueue_args(topic, ttr, max_attempts, job_id, delay, execute_at)
        encode_payload(payload)

        def op() -> tuple[str | None, bool]:
            with self.db.write() as conn:
                now = self._now(conn)
                row = self._row(spec, now)
                created = conn.execute(self._insert_ignore, [row]).rowcount == 1
                return (row["id"] if created else None), row["execute_at"] <= now

        job_id, due = self._run(op)
        if job_id is not None and due:
            self._notify()
        return job_id

    def enqueue_many(self, specs: Iterable[JobSpec]) -> int:
        created = 0
        batch: list[JobSpec] = []

        def flush() -> int:
            if not batch:
                return 0

            def op() -> int:
                with self.db.write() as conn:
                    now = self._now(conn)
                    rows = [self._row(s, now) for s in batch]
                    ids = [r["id"] for r in rows]
                    before = set(conn.execute(select(_T.c.id).where(_T.c.id.in_(ids))).scalars())
                    new = [r for r in rows if r["id"] not in before]
                    if new:
                        conn.execute(self._insert_ignore, new)
                    after = set(conn.execute(select(_T.c.id).where(_T.c.id.in_(ids))).scalars())
                    return len(after - before)

            n = self._run(op)
            batch.clear()
            return n

        for spec in specs:
            check_enqueue_args(spec.topic, spec.ttr, spec.max_attempts, spec.job_id, spec.delay, spec.execute_at)
            encode_payload(spec.payload)
            batch.append(spec)
            if len(batch) >= 500:
                created += flush()
        created += flush()
        if created:
            self._notify()
        return created

    # ------------------------------------------------------------------ consumers
    def reserve(self, topics: Sequence[str], timeout: float = 0.0, *, owner: str | None = None) -> Job | None:
        topics = list(dict.fromkeys(topics))
        if not topics:
            raise ValueError("reserve needs at least one topic")
        owner = (owner or default_owner())[:255]
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            with self._wake:
                generation = self._generation
            job, wait_ms = self._run(lambda: self._try_reserve(topics, owner))
            if job is not None:
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(remaining, self.poll_interval)
            if wait_ms is not None:
                wait = min(wait, max(wait_ms, 0) / 1000)
            with self._wake:
                if self._generation == generation:  # nothing was enqueued here since we looked
                    self._wake.wait(max(wait, 0.002))

    def _try_reserve(self, topics: list[str], owner: str) -> tuple[Job | None, int | None]:
        # While jobs keep coming, go straight to the write transaction; otherwise (and at least every
        # REAP_EVERY seconds, so that expired leases are redelivered under load too) look first with
        # a cheap read, so that idle consumers never take the write lock.
        expired = False
        if not self._hot or time.monotonic() - self._last_look >= REAP_EVERY:
            self._last_look = time.monotonic()
            with self.db.read() as conn:
                now = self._now(conn)
                next_due = conn.execute(select(func.min(_T.c.execute_at)).where(
                    _T.c.state == JOB_SCHEDULED, _T.c.topic.in_(topics))).scalar()
                next_lease = conn.execute(self._q_next_lease).scalar()
            due = next_due is not None and next_due <= now
            expired = next_lease is not None and next_lease <= now
            if not due and not expired:
                self._hot = False
                waits = [x - now for x in (next_due, next_lease) if x is not None]
                return None, (min(waits) if waits else None)
        with self.db.write() as conn:
            now = self._now(conn)
            if expired:
                self._reap(conn, now)
            # One index-ordered probe per topic (state, topic, execute_at, seq): LIMIT 1 stops at the
            # first row, and SKIP LOCKED passes over rows other consumers are taking right now.
            best = None
            for topic in topics:
                row = conn.execute(self._q_candidate, {"topic": topic, "now": now}).first()
                if row is not None and (best is None or (row.execute_at, row.seq) < (best.execute_at, best.seq)):
                    best = row
            if best is None:  # another consumer took it (or holds its row lock): look again soon
                self._hot = False
                return None, 0
            row = best
            token = secrets.token_hex(8)
            lease = now + row.ttr_ms
            conn.execute(self._q_lease, {"job_id": row.id, "lease": lease, "token": token, "owner": owner,
                                         "now": now})
        self._hot = True
        return Job(id=row.id, topic=row.topic, payload=json.loads(row.payload or "{}"), execute_at=row.execute_at,
                   ttr=row.ttr_ms / 1000, attempts=row.attempts + 1, max_attempts=row.max_attempts, state=RUNNING,
                   last_error=row.last_error, created_at=row.created_at, updated_at=now, lease_until=lease,
                   token=token, owner=owner), None

    def _reap(self, conn: Connection, now: int) -> int:
        """Expired leases: deliver again (keeping their execute_at, so they come first) or bury."""
        rows = conn.execute(
            select(_T.c.id, _T.c.attempts, _T.c.max_attempts, _T.c.owner)
            .where(_T.c.state == JOB_RUNNING, _T.c.lease_until <= now)
            .order_by(_T.c.lease_until).limit(REAP_LIMIT).with_for_update(skip_locked=True)).all()
        for r in rows:
            msg = (f"not acknowledged within its TTR (the consumer {r.owner or '?'} stopped, hung or lost its "
                   f"connection)")
            conn.execute(update(_T).where(_T.c.id == r.id, _T.c.state == JOB_RUNNING, _T.c.lease_until <= now)
                         .values(state=JOB_DEAD if r.attempts >= r.max_attempts else JOB_SCHEDULED, last_error=msg,
                                 lease_until=None, lease_token=None, owner=None, updated_at=now))
        return len(rows)

    def _held(self, job: Job) -> ColumnElement[bool]:
        return (_T.c.id == job.id) & (_T.c.state == JOB_RUNNING) & (_T.c.lease_token == (job.token or ""))

    def ack(self, job: Job) -> bool:
        def op() -> bool:
            with self.db.write() as conn:
                return conn.execute(self._q_ack, {"job_id": job.id, "token": job.token or ""}).rowcount == 1

        return self._run(op)

    def _finish(self, job: Job, values_for_now: Callable[[int], dict[str, Any]]) -> bool:
        def op() -> bool:
            with self.db.write() as conn:
                now = self._now(conn)
                values = values_for_now(now)
                return conn.execute(update(_T).where(self._held(job)).values(
                    lease_until=None, lease_token=None, owner=None, updated_at=now, **values)).rowcount == 1

        done = self._run(op)
        if done:
            self._notify()
        return done

    def fail(self, job: Job, error: str, *, delay: float | None = None) -> str | None:
        error = short_error(error or "failed")
        if job.attempts >= job.max_attempts:
            return DEAD if self._finish(job, lambda now: {"state": JOB_DEAD, "last_error": error}) else None
        if delay is None:
            delay = self.backoff.delay(job.attempts)
        ms = max(0, int(round(delay * 1000)))
        ok = self._finish(job, lambda now: {"state": JOB_SCHEDULED, "execute_at": now + ms, "last_error": error})
        return SCHEDULED if ok else None

    def bury(self, job: Job, error: str) -> bool:
        return self._finish(job, lambda now: {"state": JOB_DEAD, "last_error": short_error(error or "buried")})

    def release(self, job: Job, *, delay: float = 0.0) -> bool:
        ms = max(0, int(round(delay * 1000)))
        return self._finish(job, lambda now: {"state": JOB_SCHEDULED, "execute_at": now + ms,
                                              "attempts": max(job.attempts - 1, 0)})

    def repeat(self, job: Job, execute_at: int, *, error: str | None = None) -> bool:
        if error is None:
            return self._finish(job, lambda now: {"state": JOB_SCHEDULED, "execute_at": int(execute_at),
                                                  "attempts": 0, "last_error": None})
        return self._finish(job, lambda now: {"state": JOB_SCHEDULED, "execute_at": int(execute_at),
                                              "last_error": short_error(error)})

    def extend(self, job: Job, ttr: float | None = None) -> int | None:
        ms = max(1, int(round((job.ttr if ttr is None else ttr) * 1000)))

        def op() -> int | None:
            with self.db.write() as conn:
                lease = self._now(conn) + ms
                ok = conn.execute(update(_T).where(self._held(job)).values(lease_until=lease)).rowcount == 1
                return lease if ok else None

        return self._run(op)

    def tick(self) -> int:
        def op() -> int:
            with self.db.read() as conn:
                now = self._now(conn)
                expired = conn.execute(select(func.count()).select_from(_T).where(
                    _T.c.state == JOB_RUNNING, _T.c.lease_until <= now)).scalar()
            if not expired:
                return 0
            with self.db.write() as conn:
                return self._reap(conn, self._now(conn))

        moved = self._run(op)
        if moved:
            self._notify()
        return moved

    # ------------------------------------------------------------------ inspection and administration
    def now_ms(self) -> int:
        if not self._mysql:
            return now_ms()

        def op() -> int:
            with self.db.read() as conn:
                return self._now(conn)

        return self._run(op)

    def get(self, job_id: str) -> Job | None:
        validate_job_id(job_id)

        def op() -> Job | None:
            with self.db.read() as conn:
                row = conn.execute(select(_T).where(_T.c.id == job_id)).first()
                return self._to_job(row, self._now(conn)) if row is not None else None

        return self._run(op)

    @staticmethod
    def _where(state: str, now: int) -> ColumnElement[bool]:
        if state == SCHEDULED:
            return (_T.c.state == JOB_SCHEDULED) & (_T.c.execute_at > now)
        if state == READY:
            return (_T.c.state == JOB_SCHEDULED) & (_T.c.execute_at <= now)
        return _T.c.state == (JOB_RUNNING if state == RUNNING else JOB_DEAD)

    @staticmethod
    def _order(state: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        if state in (SCHEDULED, READY):
            return (_T.c.execute_at, _T.c.seq)
        if state == RUNNING:
            return (_T.c.lease_until, _T.c.seq)
        return (_T.c.updated_at.desc(), _T.c.seq.desc())

    def list_jobs(self, state: str | None = None, *, topic: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[Job]:
        check_state(state)
        if limit <= 0:
            return []
        self.tick()  # expired leases show as ready (or dead), not running

        def op() -> list[Job]:
            out: list[Job] = []
            skip = offset
            with self.db.read() as conn:
                now = self._now(conn)
                for st in ([state] if state else list(STATES)):
                    if len(out) >= limit:
                        break
                    cond = self._where(st, now)
                    if topic is not None:
                        cond = cond & (_T.c.topic == topic)
                    if skip:
                        n: int = conn.execute(select(func.count()).select_from(_T).where(cond)).scalar_one()
                        if skip >= n:
                            skip -= n
                            continue
                    rows = conn.execute(select(_T).where(cond).order_by(*self._order(st))
                                        .offset(skip).limit(limit - len(out))).all()
                    skip = 0
                    out.extend(self._to_job(r, now) for r in rows)
            return out

        return self._run(op)

    def counts(self, *, topic: str | None = None) -> dict[str, int]:
        self.tick()

        def op() -> dict[str, int]:
            with self.db.read() as conn:
                now = self._now(conn)
                due = case((_T.c.execute_at <= now, 1), else_=0)
                q = select(_T.c.state, due.label("due"), func.count()).group_by(_T.c.state, due)
                if topic is not None:
                    q = q.where(_T.c.topic == topic)
                rows = conn.execute(q).all()
            out = dict.fromkeys(STATES, 0)
            for state, is_due, n in rows:
                if state == JOB_SCHEDULED:
                    out[READY if is_due else SCHEDULED] += n
                elif state == JOB_RUNNING:
                    out[RUNNING] += n
                elif state == JOB_DEAD:
                    out[DEAD] += n
            return out

        return self._run(op)

    def reschedule(self, job_id: str, execute_at: int | None = None) -> bool:
        validate_job_id(job_id)

        def op() -> tuple[bool, bool]:
            with self.db.write() as conn:
                now = self._now(conn)
                at = now if execute_at is None else int(execute_at)
                state = conn.execute(select(_T.c.state).where(_T.c.id == job_id).with_for_update()).scalar()
                if state not in (JOB_SCHEDULED, JOB_DEAD):
                    return False, False
                values = {"state": JOB_SCHEDULED, "execute_at": at, "updated_at": now}
                if state == JOB_DEAD:  # a dead job starts again with a fresh attempt budget
                    values["attempts"] = 0
                conn.execute(update(_T).where(_T.c.id == job_id, _T.c.state == state).values(**values))
                return True, at <= now

        done, due = self._run(op)
        if done and due:
            self._notify()
        return done

    def delete(self, job_id: str) -> bool:
        validate_job_id(job_id)

        def op() -> bool:
            with self.db.write() as conn:
                return conn.execute(delete(_T).where(_T.c.id == job_id)).rowcount == 1

        return self._run(op)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._notify()
