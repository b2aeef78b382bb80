"""One small typed helper to run work off the GUI thread (STYLE: Anki's QueryOp).

    run_task(parent, lambda: service.search(actor, query), on_done=show, on_error=report)

``fn`` runs on a QThreadPool thread and must not touch widgets; ``on_done``/``on_error`` run on
the GUI thread (delivered through a queued signal). If ``parent`` is destroyed first, the result
is dropped. Long jobs with progress (the sync) use their own QThread worker instead.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


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
        # RuntimeError: the receiver's parent was destroyed meanwhile, so nobody wants the result.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)


def run_task(parent: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[Exception], None] | None = None, pool: QThreadPool | None = None) -> None:
    relay = _Relay(parent)  # owned by parent: if parent dies, the callbacks die with it
    relay.done.connect(on_done)
    relay.done.connect(relay.deleteLater)
    relay.failed.connect(lambda exc, _tb: on_error(exc) if on_error else None)
    relay.failed.connect(relay.deleteLater)
    (pool or QThreadPool.globalInstance()).start(_Task(fn, relay))


def wait_for_tasks(timeout_ms: int = 30000) -> bool:
    """Join the pool's threads (at shutdown and in tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
