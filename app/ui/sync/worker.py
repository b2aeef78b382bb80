"""The sync off the GUI thread: a SyncWorker moved to a QThread, owned by a SyncController.

Threads and processes: the worker's ``run`` occupies its QThread until the sync ends, supervising a
sync process (:func:`app.core.sync.process.run_sync_process`) that runs the same engine as the CLI:
Tencent's library aborts a process that has loaded Qt, so it never loads in this one, and the
sync's CPU work never competes with the GUI thread for the GIL. Progress comes back over a pipe and
reaches the GUI through queued signals; cancel is a ``threading.Event`` set from the GUI thread
and passed on to the sync process, which stops after its current batch. A sync process that dies is
reported as such (nothing is lost: the next sync resumes from the last committed batch).

A sync started in the window is a person's: the worker builds the plan with that person's Actor
(``AppContext.sync_plan(..., actor=actor)``); the sync process checks ``sync.run`` and records the
run (``sync.run``, with its outcome) under their account.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.actor import Actor
from app.core.config.settings import CorpSettings
from app.core.context import AppContext
from app.core.sync.failures import describe_failure
from app.core.sync.pipeline import SyncProgress
from app.core.sync.process import run_sync_process

PROGRESS_INTERVAL_S = 0.1  # at most ten progress signals a second (STYLE #5)
SYNC_NICENESS = 10  # the sync process and its SDK hosts yield the CPU to the GUI thread


class SyncWorker(QObject):
    """Runs one sync of one corp. Create, move to a QThread, connect ``QThread.started`` to :meth:`run`.

    Signals are emitted on the worker thread (receivers in the GUI thread get them queued):
    ``sync_progressed(SyncProgress)`` at most ten times a second (phase and retry-note changes are
    never dropped; the last report before the end is always delivered), ``batch_committed()`` when
    more messages are stored, then exactly one of ``sync_finished(SyncReport)`` (outcome
    "succeeded" or "cancelled") or ``sync_failed(message_en, message_zh)``.
    """

    sync_progressed = Signal(object)
    batch_committed = Signal()
    sync_finished = Signal(object)
    sync_failed = Signal(str, str)

    def __init__(self, ctx: AppContext, corp: CorpSettings, actor: Actor, *, media: bool = True,
                 workers: int | None = None):
        super().__init__()  # no parent: it is moved to its thread
        self._ctx, self._corp, self._media, self._workers = ctx, corp, media, workers
        self._actor = actor
        self._cancel = threading.Event()
        self._lock = threading.Lock()  # the media phase may report from more than one thread
        self._last_emit = 0.0
        self._last_phase = ""
        self._last_note = ""
        self._stored = 0
        self._pending: SyncProgress | None = None

    @property
    def cancel_event(self) -> threading.Event:
        """Set it (from any thread) to stop the sync after the current batch."""
        return self._cancel

    @Slot()
    def run(self) -> None:
        try:
            # Built here, not on the GUI thread: it reads the keyring and may build the simulator.
            plan = self._ctx.sync_plan(self._corp, media=self._media, workers=self._workers, actor=self._actor)
            report = run_sync_process(plan, progress=self._on_progress, cancel=self._cancel.is_set,
                                      niceness=SYNC_NICENESS)
        except Exception as exc:  # every failure becomes a sentence for the user
            self._flush()
            self.sync_failed.emit(*describe_failure(exc))
            return
        self._flush()
        self.sync_finished.emit(report)

    # ------------------------------------------------------------------ progress (worker thread)
    def _on_progress(self, progress: SyncProgress) -> None:
        with self._lock:
            now = time.monotonic()
            news = progress.phase != self._last_phase or progress.note != self._last_note
            if not news and now - self._last_emit < PROGRESS_INTERVAL_S:
                self._pending = progress  # delivered by the next report or at the end
                return
            self._emit(progress, now)

    def _flush(self) -> None:
        with self._lock:
            if self._pending is not None:
                self._emit(self._pending, time.monotonic())

    def _emit(self, progress: SyncProgress, now: float) -> None:
        self._pending = None
        self._last_emit, self._last_phase, self._last_note = now, progress.phase, progress.note
        self.sync_progressed.emit(progress)  # the core hands each report over as a fresh copy
        if progress.stored > self._stored:
            self._stored = progress.stored
            self.batch_committed.emit()


class SyncController(QObject):
    """Owns the sync thread and its worker: one sync at a time. Lives on the GUI thread. Every sync
    it starts runs as ``actor`` (the signed-in account; it needs ``sync.run``).

    Relays the worker's signals. ``sync_finished``/``sync_failed`` are emitted after the thread
    has ended, so ``is_running()`` is already False in their slots and a new sync may start there.
    Call :meth:`shutdown` before the application quits (MainWindow.closeEvent).
    """

    sync_started = Signal(str)  # corpid
    sync_progressed = Signal(object)  # SyncProgress
    batch_committed = Signal()
    cancel_requested = Signal()
    sync_finished = Signal(object)  # SyncReport (outcome "succeeded" or "cancelled")
    sync_failed = Signal(str, str)  # message_en, message_zh

    def __init__(self, ctx: AppContext, actor: Actor, parent: QObject | None = None):
        super().__init__(parent)
        self._ctx = ctx
        self._actor = actor
        self._thread: QThread | None = None
        self._worker: SyncWorker | None = None
        self._cancel: threading.Event | None = None
        self._outcome: tuple | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def is_cancelling(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def start(self, corp: CorpSettings, *, media: bool = True, workers: int | None = None) -> bool:
        """Start syncing ``corp``; False (and nothing happens) if a sync is already running."""
        if self._thread is not None:
            return False
        thread = QThread()
        thread.setObjectName(f"sync-{corp.corpid}")
        worker = SyncWorker(self._ctx, corp, self._actor, media=media, workers=workers)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.sync_progressed.connect(self.sync_progressed)
        worker.batch_committed.connect(self.batch_committed)
        worker.sync_finished.connect(self._on_worker_finished)
        worker.sync_failed.connect(self._on_worker_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker, self._cancel, self._outcome = thread, worker, worker.cancel_event, None
        thread.start()
        self.sync_started.emit(corp.corpid)
        return True

    @Slot()
    def cancel(self) -> None:
        """Stop after the current batch (the sync then finishes with outcome "cancelled")."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.cancel_requested.emit()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel a running sync and wait for its thread to end (at most ``timeout_ms``; -1: as long as
        it takes, i.e. until the current batch is written). Emits no outcome. True if no thread is left."""
        thread = self._thread
        if thread is None:
            self._join_finished()
            return True
        self._cancel.set()
        thread.quit()  # ends the thread's event loop once run() returns (a quit before exec() counts)
        if not (thread.wait() if timeout_ms < 0 else thread.wait(timeout_ms)):
            return False
        self._release()
        return True

    # ------------------------------------------------------------------ GUI thread
    @Slot(object)
    def _on_worker_finished(self, report) -> None:
        if self.sender() is not self._worker:  # a run that shutdown() already released
            return
        self._outcome = ("finished", report)
        if self._thread is not None:
            self._thread.quit()

    @Slot(str, str)
    def _on_worker_failed(self, message_en: str, message_zh: str) -> None:
        if self.sender() is not self._worker:
            return
        self._outcome = ("failed", message_en, message_zh)
        if self._thread is not None:
            self._thread.quit()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None or self.sender() is not self._thread:
            return
        outcome = self._outcome
        self._release()
        if outcome is None:  # shut down, or the worker died without a word
            return
        if outcome[0] == "finished":
            self.sync_finished.emit(outcome[1])
        else:
            self.sync_failed.emit(outcome[1], outcome[2])

    def _release(self) -> None:
        # The finished thread and its worker are Python-owned: they are kept until the next release
        # and then freed by Python on the GUI thread, once their thread has ended. Not deleteLater
        # (Qt deleting a Python-owned object from the worker thread) and not here (this runs inside
        # the thread's own `finished` signal): both crashed now and then in CI.
        self._join_finished()
        self._finished = (self._thread, self._worker)
        self._thread = self._worker = self._cancel = self._outcome = None

    def _join_finished(self) -> None:
        """Wait for the previous run's thread to have really ended (it emitted `finished` long ago)."""
        previous = getattr(self, "_finished", None)
        if previous is not None and previous[0] is not None:
            previous[0].wait()
        self._finished = None
