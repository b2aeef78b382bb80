"""The window's sync: a SyncController runs each sync as a LongJob that supervises a sync process.

Threads and processes: the job's QThread waits for a sync process
(:func:`app.core.sync.process.run_sync_process`) that runs the same engine as the CLI: Tencent's
library aborts a process that has loaded Qt, so it never loads in this one, and the sync's CPU work
never competes with the GUI thread for the GIL. Progress comes back over a pipe and reaches the GUI
through queued signals (at most ten a second; a new phase or retry note is never held back); a
cancel is passed on to the sync process, which stops after its current batch. A sync process that
dies is reported as such (nothing is lost: the next sync resumes from the last committed batch).

A sync started in the window is a person's: the plan carries that person's Actor
(``AppContext.sync_plan(..., actor=actor)``); the sync process checks ``sync.run`` and records the
run (``sync.run``, with its outcome) under their account.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from app.core.actor import Actor
from app.core.config.settings import CorpSettings
from app.core.context import AppContext
from app.core.sync.failures import describe_failure
from app.core.sync.pipeline import SyncProgress
from app.core.sync.process import run_sync_process

from ..long_job import LongJob

SYNC_NICENESS = 10  # the sync process and its SDK hosts yield the CPU to the GUI thread


def phase_changes_urgent(progress):
    """Wrap a LongJob ``progress(value, urgent)`` callback for SyncProgress reports: a report with a
    new phase or retry note is urgent (never held back by the throttle)."""
    last: list[tuple[str, str]] = []

    def report(p: SyncProgress) -> None:
        news = (p.phase, p.note)
        progress(p, urgent=not last or last[0] != news)
        last[:] = [news]

    return report


def sync_work(ctx: AppContext, corp: CorpSettings, actor: Actor, *, media: bool = True, workers: int | None = None):
    """The work of one window sync, for a LongJob: build the plan (it reads the keyring and may
    build the simulator: never on the GUI thread) and supervise the sync process."""

    def work(progress, cancelled):
        plan = ctx.sync_plan(corp, media=media, workers=workers, actor=actor)
        return run_sync_process(plan, progress=phase_changes_urgent(progress), cancel=cancelled,
                                niceness=SYNC_NICENESS)

    return work


class SyncController(QObject):
    """One sync at a time, run as ``actor`` (the signed-in account; it needs ``sync.run``). Lives on
    the GUI thread.

    ``sync_finished``/``sync_failed`` are emitted after the job's thread has ended, so
    ``is_running()`` is already False in their slots and a new sync may start there.
    ``batch_committed`` is emitted when a progress report shows more stored entries than before.
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
        self._stored = 0
        self._job = LongJob("sync", self)
        self._job.progressed.connect(self._on_progress)
        self._job.succeeded.connect(self.sync_finished)
        self._job.failed.connect(lambda exc: self.sync_failed.emit(*describe_failure(exc)))

    def is_running(self) -> bool:
        return self._job.is_running()

    def is_cancelling(self) -> bool:
        return self._job.is_cancelling()

    def start(self, corp: CorpSettings, *, media: bool = True, workers: int | None = None) -> bool:
        """Start syncing ``corp``; False (and nothing happens) if a sync is already running."""
        self._stored = 0
        if not self._job.start(sync_work(self._ctx, corp, self._actor, media=media, workers=workers)):
            return False
        self.sync_started.emit(corp.corpid)
        return True

    @Slot()
    def cancel(self) -> None:
        """Stop after the current batch (the sync then finishes with outcome "cancelled")."""
        if self._job.cancel():
            self.cancel_requested.emit()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel a running sync and wait for its thread to end (at most ``timeout_ms``; -1: as long as
        it takes, i.e. until the current batch is written). Emits no outcome. True if no thread is left."""
        return self._job.shutdown(timeout_ms)

    @Slot(object)
    def _on_progress(self, progress: SyncProgress) -> None:
        self.sync_progressed.emit(progress)
        if progress.stored > self._stored:
            self._stored = progress.stored
            self.batch_committed.emit()
