"""Consumers that run background jobs while the window is open (media download retries, scheduled
syncs), on the core :class:`~app.core.queue.Worker`'s threads. The window starts it and shuts it
down at close; events reach the GUI thread through signals."""

from __future__ import annotations

import contextlib
import logging
import threading

import shiboken6
from PySide6.QtCore import QObject, Signal

from app.core.jobs import TOPICS, build_worker
from app.core.queue import JobQueue, WorkerEvent, open_queue

log = logging.getLogger(__name__)
BACKGROUND_NICENESS = 10  # scheduled syncs' processes leave the CPU to the window


class QueueRunner(QObject):
    """Runs ``topics`` with ``concurrency`` threads from :meth:`start` until :meth:`shutdown`.

    ``job_event(WorkerEvent)`` reports every step; ``job_finished(topic, job_id, kind)`` each finished
    run (kind: succeeded, rescheduled, retrying, dead, released, lost), e.g. to refresh the session
    tree after a scheduled sync; ``failed(str)`` says the queue could not be opened (a malformed
    ``queue_url``). An unreachable queue is retried by the consumers, reported as ``error`` events.
    """

    job_event = Signal(object)
    job_finished = Signal(str, str, str)
    failed = Signal(str)

    def __init__(self, ctx, parent: QObject | None = None, *, topics=TOPICS, concurrency: int = 1):
        super().__init__(parent)
        self.ctx = ctx
        self.topics = tuple(topics)
        self.concurrency = concurrency
        self.queue: JobQueue | None = None
        self._worker = None
        self._close_handlers = None
        self._lock = threading.Lock()
        self._starter: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        """Open the queue and start the consumers on a background thread (opening Redis, or the first
        re-enqueueing of pending media, must not block the window). Does nothing if started."""
        with self._lock:
            if self._starter is not None or self._closed:
                return
            self._starter = threading.Thread(target=self._start, name="queue-runner-start", daemon=True)
            self._starter.start()

    def _start(self) -> None:
        try:
            queue = open_queue(self.ctx)
        except Exception as exc:  # a malformed queue_url: say so, run nothing
            log.warning("background jobs not started: %s", exc)
            self._emit(self.failed, str(exc))
            return
        worker, close = build_worker(self.ctx, queue, topics=self.topics, concurrency=self.concurrency,
                                     name="gui-worker", on_event=self._on_event, niceness=BACKGROUND_NICENESS)
        with self._lock:
            if self._closed:
                close()
                queue.close()
                return
            self.queue, self._worker, self._close_handlers = queue, worker, close
        worker.start()

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.stopping

    def _on_event(self, event: WorkerEvent) -> None:  # on a worker thread
        self._emit(self.job_event, event)
        if event.job is not None and event.kind not in ("started", "error"):
            self._emit(self.job_finished, event.job.topic, event.job.id, event.kind)

    def _emit(self, signal, *args) -> None:
        with self._lock:
            if self._closed or not shiboken6.isValid(self):
                return
        with contextlib.suppress(RuntimeError):  # the application is going away
            signal.emit(*args)

    def shutdown(self, timeout: float = 15.0) -> bool:
        """Stop taking jobs, interrupt the running ones at their next safe point (they go back to the
        queue), and wait for the threads; True if they all ended within ``timeout`` seconds."""
        with self._lock:
            self._closed = True
            starter, worker = self._starter, self._worker
        if starter is not None:
            starter.join(timeout)
            worker = self._worker
        ended = True
        if worker is not None:
            worker.stop(cancel_running=True)
            ended = worker.join(timeout)
            if not ended:
                log.warning("background jobs did not stop within %.0f s; their leases expire by themselves", timeout)
        if self._close_handlers is not None and ended:
            self._close_handlers()
        if self.queue is not None and ended:
            self.queue.close()
        return ended
