"""One small typed helper to run work off the GUI thread (STYLE: Anki's QueryOp).

    run_task(owner, lambda: service.search(actor, query), on_done=show, on_error=report)

``fn`` runs on a QThreadPool thread and must not touch widgets; ``on_done``/``on_error`` run on
the GUI thread (delivered through a queued signal). If ``owner`` has been deleted by then (a panel
closed mid-read), the callbacks are skipped. Long jobs with progress (the sync) use their own
QThread worker instead.

The relay that carries the result belongs to the application, not to ``owner``: deleting a relay
while a queued result is still pending for it crashes PySide at random.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object, str)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay):
        super().__init__()
        self.fn = fn
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # delivered to on_error on the GUI thread
            self._emit(self.relay.failed, exc, traceback.format_exc())
            return
        self._emit(self.relay.done, result)

    @staticmethod
    def _emit(signal, *args) -> None:
        # RuntimeError: the application is shutting down and the relay is gone; nobody wants it.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)


def run_task(owner: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[Exception], None] | None = None, pool: QThreadPool | None = None) -> None:
    def alive(callback):
        return lambda *args: callback(*args) if shiboken6.isValid(owner) else None

    relay = _Relay()
    relay.moveToThread(QCoreApplication.instance().thread())
    relay.setParent(QCoreApplication.instance())
    relay.done.connect(alive(on_done))
    relay.done.connect(relay.deleteLater)
    relay.failed.connect(alive(lambda exc, _tb: on_error(exc) if on_error else None))
    relay.failed.connect(relay.deleteLater)
    (pool or QThreadPool.globalInstance()).start(_Task(fn, relay))


def wait_for_tasks(timeout_ms: int = 30000) -> bool:
    """Join the pool's threads (at shutdown and in tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
