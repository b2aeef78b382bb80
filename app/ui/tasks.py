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


_interactive: QThreadPool | None = None


def interactive_pool() -> QThreadPool:
    """The pool for reads a person is waiting on — the pages of the conversation, the session tree
    and the search results they are looking at — apart from the global pool that the panels' own
    reads use: those queue behind each other, these never queue behind them. (Over 1,000,000
    messages the panels' first reads held both of the global pool's threads for seconds after the
    window opened, and the first conversation opened then waited 0.7 s for a 20 ms read.)"""
    global _interactive
    if _interactive is None or not shiboken6.isValid(_interactive):  # (a test's application replaced)
        _interactive = QThreadPool(QCoreApplication.instance())
        _interactive.setMaxThreadCount(2)
    return _interactive


def wait_for_tasks(timeout_ms: int = 30000) -> bool:
    """Join the pools' threads (at shutdown and in tests)."""
    done = QThreadPool.globalInstance().waitForDone(timeout_ms)
    pool = _interactive if _interactive is not None and shiboken6.isValid(_interactive) else None
    return (pool is None or pool.waitForDone(timeout_ms)) and done
