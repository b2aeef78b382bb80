"""Consumers: a :class:`Worker` runs jobs of its topics on a few threads until it is stopped.

A handler is a callable ``handler(job, control)`` registered for a topic. What it does decides
what happens to the job:

* returns None → the job is done and acknowledged (deleted);
* returns :class:`Reschedule` → a recurring job's next run is scheduled under the same id;
* raises :class:`RetryLater` → re-scheduled after the given delay (or the queue's backoff), or dead
  after ``max_attempts``;
* raises :class:`PermanentFailure` → parked dead at once with the message;
* raises :class:`JobCancelled` (or returns after ``control.cancelled()`` became true and raises it)
  → given back unfinished, without counting an attempt;
* raises anything else → like RetryLater with the queue's backoff, the exception as last error.

While a handler runs, a heartbeat renews its lease every third of its TTR, so a TTR bounds how
long a *dead* consumer holds a job, not how long a job may take. If a renewal finds the lease
lost (the job was deleted, or this process stalled past its TTR and another consumer took it),
``control.cancelled()`` turns true and the handler should stop at its next safe point.

Handlers run on the worker's threads: they must not touch Qt widgets (the GUI's runner relays
events through signals) and must be idempotent (delivery is at least once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .base import Job, JobQueue, QueueError, QueueUnavailable

__all__ = ["JobCancelled", "JobControl", "PermanentFailure", "Reschedule", "RetryLater", "Worker", "WorkerEvent"]

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """This run failed; try again after ``delay`` seconds (None: the queue's backoff)."""

    def __init__(self, message: str, *, delay: float | None = None):
        super().__init__(message)
        self.delay = delay


class PermanentFailure(Exception):
    """The job can never succeed: park it dead now with this message."""


class JobCancelled(Exception):
    """The job was interrupted (the worker is stopping, or the lease was lost): give it back."""


@dataclass(frozen=True)
class Reschedule:
    """Returned by a recurring job's handler: run it again at ``execute_at`` (ms, the queue's clock).
    ``error`` records a failed run (kept as the job's last error) without ending the schedule."""

    execute_at: int
    error: str | None = None


@dataclass(frozen=True)
class WorkerEvent:
    """What a worker did. ``kind``: started, succeeded, rescheduled, retrying, dead, released, lost
    (the lease was lost: another consumer may run the job again), error (the queue failed)."""

    kind: str
    job: Job | None
    detail: str = ""
    seconds: float = 0.0


class JobControl:
    """What a handler may ask about its job while it runs."""

    def __init__(self, queue: JobQueue, job: Job):
        self.queue = queue
        self.job = job
        self._cancel = threading.Event()
        self.lease_lost = False

    def cancelled(self) -> bool:
        """True when the handler should stop at its next safe point and raise JobCancelled."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()


Handler = Callable[[Job, JobControl], "Reschedule | None"]


class Worker:
    """Runs the handlers of ``handlers`` (topic → handler) on ``concurrency`` threads.

    ``start()`` returns at once; ``stop()`` asks the threads to finish their current job and take no
    new one (``cancel_running=True`` also asks the running handlers to stop early, and their jobs
    are given back); ``join()`` waits for the threads. ``until_idle``: stop by itself when no job is
    due and none is running. ``maintenance`` callables run in ``start()`` (before any job) and every
    ``maintenance_interval`` seconds on their own thread (e.g. re-enqueueing pending media);
    their exceptions are logged, never fatal. ``on_event(WorkerEvent)`` is called on worker
    threads.
    """

    def __init__(self, queue: JobQueue, handlers: Mapping[str, Handler], *, concurrency: int = 1,
                 name: str = "worker", reserve_timeout: float = 1.0, until_idle: bool = False,
                 on_event: Callable[[WorkerEvent], None] | None = None,
                 maintenance: Sequence[Callable[[], object]] = (), maintenance_interval: float = 300.0):
        if not handlers:
            raise ValueError("a worker needs at least one handler")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.queue = queue
        self.handlers = dict(handlers)
        self.topics = sorted(self.handlers)
        self.concurrency = concurrency
        self.name = name
        self.reserve_timeout = reserve_timeout
        self.until_idle = until_idle
        self.on_event = on_event
        self.maintenance = list(maintenance)
        self.maintenance_interval = maintenance_interval
        self._stop = threading.Event()
        self._cancel_all = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Job, JobControl, float]] = {}  # job id → (job, control, last renewal)
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._helpers: list[threading.Thread] = []
        self.processed = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Worker:
        if self._threads:
            raise RuntimeError("this worker was started already")
        self._run_maintenance()  # first, so that a worker started `until_idle` sees the re-enqueued jobs
        host = f"{socket.gethostname()}:{os.getpid()}"
        for i in range(self.concurrency):
            t = threading.Thread(target=self._consume, args=(f"{host}/{self.name}-{i + 1}",),
                                 name=f"{self.name}-{i + 1}", daemon=True)
            self._threads.append(t)
        self._helpers.append(threading.Thread(target=self._heartbeat, name=f"{self.name}-heartbeat", daemon=True))
        if self.maintenance:
            self._helpers.append(threading.Thread(target=self._maintain, name=f"{self.name}-maintenance",
                                                  daemon=True))
        for t in self._threads + self._helpers:
            t.start()
        return self

    def stop(self, *, cancel_running: bool = False) -> None:
        """Take no new job; with ``cancel_running`` also ask running handlers to stop early."""
        self._stop.set()
        if cancel_running:
            self._cancel_all.set()
            with self._lock:
                for _, control, _ in self._running.values():
                    control.cancel()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the consumer threads (and then the helpers); True if all ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if all(not t.is_alive() for t in self._threads):
            self._stop.set()  # until_idle: the consumers ended by themselves; end the helpers too
        for t in self._helpers:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads + self._helpers)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def running_jobs(self) -> list[Job]:
        with self._lock:
            return [job for job, _, _ in self._running.values()]

    # ------------------------------------------------------------------ threads
    def _emit(self, kind: str, job: Job | None, detail: str = "", seconds: float = 0.0) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(WorkerEvent(kind, job, detail, seconds))
        except Exception:  # an observer must never break the worker
            log.exception("worker event callback failed")

    def _consume(self, owner: str) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                job = self.queue.reserve(self.topics, timeout=self.reserve_timeout, owner=owner)
            except QueueError as exc:
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    log.warning("worker %s: cannot reserve a job (%s); retrying", owner, exc)
                    self._emit("error", None, str(exc))
                self._stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            except Exception:
                log.exception("worker %s: reserve failed unexpectedly", owner)
                self._stop.wait(5.0)
                continue
            failures = 0
            if job is None:
                with self._lock:
                    idle = self._busy == 0
                if self.until_idle and idle:
                    self._stop.set()
                continue
            self._execute(job)

    def _execute(self, job: Job) -> None:
        control = JobControl(self.queue, job)
        with self._lock:
            self._busy += 1
            self._running[job.id] = (job, control, time.monotonic())
        if self._cancel_all.is_set():
            control.cancel()
        started = time.monotonic()
        self._emit("started", job)
        log.info("job %s (%s) started, attempt %d of %d", job.id, job.topic, job.attempts, job.max_attempts)
        try:
            try:
                if control.cancelled():
                    raise JobCancelled("the worker is stopping")
                result = self.handlers[job.topic](job, control)
            except JobCancelled as exc:
                self._finish(job, "released", str(exc) or "cancelled", started,
                             lambda: self.queue.release(job))
            except RetryLater as exc:
                self._finish_failure(job, str(exc), exc.delay, started)
            except PermanentFailure as exc:
                reason = str(exc) or "failed permanently"
                self._finish(job, "dead", reason, started, lambda: self.queue.bury(job, reason))
            except Exception as exc:
                log.warning("job %s (%s) raised", job.id, job.topic, exc_info=True)
                self._finish_failure(job, str(exc) or type(exc).__name__, None, started)
            else:
                if isinstance(result, Reschedule):
                    self._finish(job, "rescheduled", result.error or "", started,
                                 lambda: self.queue.repeat(job, result.execute_at, error=result.error))
                else:
                    self._finish(job, "succeeded", "", started, lambda: self.queue.ack(job))
        finally:
            with self._lock:
                self._running.pop(job.id, None)
                self._busy -= 1
                self.processed += 1

    def _finish_failure(self, job: Job, error: str, delay: float | None, started: float) -> None:
        outcome: list[str | None] = [None]

        def call() -> bool:
            outcome[0] = self.queue.fail(job, error, delay=delay)
            return outcome[0] is not None

        self._finish(job, "retrying", error, started, call,
                     kind_of=lambda: "dead" if outcome[0] == "dead" else "retrying")

    def _finish(self, job: Job, kind: str, detail: str, started: float, call: Callable[[], bool],
                kind_of: Callable[[], str] | None = None) -> None:
        """Tell the queue how the run ended; a queue that is briefly unreachable is tried again (if it
        stays unreachable, the lease expires and the job is delivered again: nothing is lost)."""
        seconds = time.monotonic() - started
        for attempt in range(4):
            try:
                held = call()
                break
            except QueueUnavailable as exc:
                if attempt == 3:
                    log.warning("job %s: could not record its outcome (%s): %s; it will be delivered again after "
                                "its TTR", job.id, kind, exc)
                    self._emit("error", job, str(exc), seconds)
                    return
                time.sleep(0.5 * (attempt + 1))
            except QueueError as exc:
                log.warning("job %s: could not record its outcome (%s): %s", job.id, kind, exc)
                self._emit("error", job, str(exc), seconds)
                return
        if not held:
            log.warning("job %s (%s) finished as %s but its lease was lost; another consumer may run it again",
                        job.id, job.topic, kind)
            self._emit("lost", job, detail, seconds)
            return
        kind = kind_of() if kind_of else kind
        log.info("job %s (%s) %s in %.2fs%s", job.id, job.topic, kind, seconds, f": {detail}" if detail else "")
        self._emit(kind, job, detail, seconds)

    def _heartbeat(self) -> None:
        """Renew the lease of every running job each third of its TTR; flag the ones whose lease is lost."""
        while not (self._stop.is_set() and not self._busy_now()):
            now = time.monotonic()
            with self._lock:
                due = [(jid, job, control) for jid, (job, control, last) in self._running.items()
                       if now - last >= job.ttr / 3]
            for jid, job, control in due:
                try:
                    lease = self.queue.extend(job)
                except QueueError as exc:
                    log.warning("job %s: cannot renew its lease (%s)", jid, exc)
                    continue
                with self._lock:
                    still_running = jid in self._running
                    if still_running:
                        self._running[jid] = (job, control, time.monotonic())
                if lease is None and still_running and not control.lease_lost:
                    control.lease_lost = True
                    control.cancel()
                    log.warning("job %s (%s): its lease was lost; asking the handler to stop", jid, job.topic)
            time.sleep(0.1)

    def _busy_now(self) -> bool:
        with self._lock:
            return self._busy > 0

    def _run_maintenance(self) -> None:
        for task in self.maintenance:
            if self._stop.is_set():
                return
            try:
                task()
            except Exception as exc:
                log.warning("queue maintenance %s failed: %s", getattr(task, "__name__", task), exc)
                self._emit("error", None, f"maintenance: {exc}")

    def _maintain(self) -> None:
        while not self._stop.wait(self.maintenance_interval):
            self._run_maintenance()
