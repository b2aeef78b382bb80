"""Long-running work off the GUI thread: the one helper for a job with progress, cancel and join.

    job = LongJob("export", parent=self)
    job.progressed.connect(self.show_progress)
    job.succeeded.connect(self.show_result)
    job.failed.connect(self.show_error)
    job.start(lambda progress, cancelled: export_package(..., progress=progress, cancel=cancelled))

``work(progress, cancelled)`` runs on the job's own QThread and returns the result; it must never
touch a widget. It calls ``progress(value, urgent=False)`` as often as it likes, from any thread:
at most ten reports a second reach ``progressed`` (STYLE #5), an ``urgent`` one (a new phase, a retry
note) is never held back, and the last one is always delivered before the outcome. ``cancelled()``
turns true after :meth:`LongJob.cancel`; the work stops at its next safe point and returns or raises
:class:`JobCancelled` (or any exception its owner treats as a cancel, via ``cancel_errors``).

Exactly one outcome per run, emitted on the GUI thread once the thread has ended (so
:meth:`is_running` is already False in the slot, and a new run may start there):
``succeeded(result)``, ``cancelled()`` or ``failed(exception)``. For short reads without progress,
``app.ui.tasks.run_task`` is enough.

Lifetime rules (two segfaults in CI came from breaking them, one in each of the two hand-written
copies this class replaces): the worker object is Python-owned and is never ``deleteLater``-ed from
its thread; a finished thread is never dropped inside its own ``finished`` signal. The finished
thread and worker are kept until the next run or :meth:`shutdown`, joined there, and freed by Python
on the GUI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

PROGRESS_INTERVAL_S = 0.1  # at most ten progress reports a second

Work = Callable[[Callable[..., None], Callable[[], bool]], Any]


class JobCancelled(Exception):
    """Raised by a job's work when it stopped because it was cancelled."""


class ProgressThrottle:
    """Passes on at most one report per ``interval`` seconds; holds the latest back otherwise.

    ``offer(value, urgent)`` delivers at once if ``urgent`` or the interval has passed, else keeps
    it; ``flush()`` delivers what was kept. Thread-safe."""

    def __init__(self, deliver: Callable[[Any], None], interval: float = PROGRESS_INTERVAL_S):
        self._deliver, self._interval = deliver, interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._pending: tuple[Any] | None = None

    def offer(self, value: Any, urgent: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not urgent and now - self._last < self._interval:
                self._pending = (value,)
                return
            self._send(value, now)

    def flush(self) -> None:
        with self._lock:
            if self._pending is not None:
                self._send(self._pending[0], time.monotonic())

    def _send(self, value: Any, now: float) -> None:
        self._pending = None
        self._last = now
        self._deliver(value)


class _Worker(QObject):
    """Runs the work on the job's thread; reports through queued signals."""

    progressed = Signal(object)
    done = Signal(str, object)  # "succeeded" / "cancelled" / "failed", result or exception

    def __init__(self, work: Work, cancel: threading.Event, cancel_errors: tuple[type[BaseException], ...]):
        super().__init__()  # no parent: it is moved to its thread
        self._work, self._cancel, self._cancel_errors = work, cancel, cancel_errors
        self._throttle = ProgressThrottle(self.progressed.emit)

    @Slot()
    def run(self) -> None:
        try:
            result = self._work(self._throttle.offer, self._cancel.is_set)
        except (JobCancelled, *self._cancel_errors):
            self._throttle.flush()
            self.done.emit("cancelled", None)
            return
        except Exception as exc:  # every failure reaches the owner, who turns it into a sentence
            self._throttle.flush()
            self.done.emit("failed", exc)
            return
        self._throttle.flush()
        self.done.emit("succeeded", result)


class LongJob(QObject):
    """Runs one piece of work at a time on a QThread of its own; see the module docstring.
    Lives on the GUI thread; call :meth:`shutdown` before the application quits."""

    started = Signal()
    progressed = Signal(object)
    succeeded = Signal(object)
    cancelled = Signal()
    failed = Signal(object)  # the exception

    def __init__(self, name: str, parent: QObject | None = None, *,
                 cancel_errors: tuple[type[BaseException], ...] = ()):
        super().__init__(parent)
        self.name = name
        self._cancel_errors = cancel_errors
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._cancel: threading.Event | None = None
        self._outcome: tuple[str, object] | None = None
        self._finished: tuple[QThread, _Worker] | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def is_cancelling(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def start(self, work: Work) -> bool:
        """Run ``work`` on the job's thread; False (and nothing happens) while a run is going on."""
        if self._thread is not None:
            return False
        self._join_finished()
        thread = QThread()
        thread.setObjectName(self.name)
        cancel = threading.Event()
        worker = _Worker(work, cancel, self._cancel_errors)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.done.connect(self._on_done)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker, self._cancel, self._outcome = thread, worker, cancel, None
        thread.start()
        self.started.emit()
        return True

    @Slot()
    def cancel(self) -> bool:
        """Ask the running work to stop at its next safe point; True if it was asked now."""
        if self._cancel is None or self._cancel.is_set():
            return False
        self._cancel.set()
        return True

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel a running job and wait for its thread (at most ``timeout_ms``; -1: as long as it
        takes). Emits no outcome. True if no thread is left."""
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
    def _on_progress(self, value) -> None:
        if self.sender() is self._worker:
            self.progressed.emit(value)

    @Slot(str, object)
    def _on_done(self, kind: str, payload) -> None:
        if self.sender() is not self._worker:  # a run that shutdown() already released
            return
        self._outcome = (kind, payload)
        if self._thread is not None:
            self._thread.quit()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None or self.sender() is not self._thread:
            return
        outcome = self._outcome
        self._release()
        if outcome is None:  # the worker ended without a word (it cannot, but then say so)
            self.failed.emit(RuntimeError(f"the {self.name} job ended without a result"))
        elif outcome[0] == "succeeded":
            self.succeeded.emit(outcome[1])
        elif outcome[0] == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(outcome[1])

    def _release(self) -> None:
        self._join_finished()
        self._finished = (self._thread, self._worker)
        self._thread = self._worker = self._cancel = self._outcome = None

    def _join_finished(self) -> None:
        """Wait for the previous run's thread to have really ended (it emitted `finished` long ago)."""
        if self._finished is not None:
            self._finished[0].wait()
        self._finished = None
