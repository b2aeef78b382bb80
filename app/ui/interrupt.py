"""Ctrl+C in the terminal that started the window closes it cleanly.

While Qt's event loop runs, Python only gets control when an event reaches Python code, so a
SIGINT handler would wait for the next mouse move. A timer gives the interpreter control every
200 ms; the handler then closes every window (their closeEvent stops syncs, jobs and tasks as the
window's close button does) and leaves the event loop with exit status 130 (128 + SIGINT)."""

from __future__ import annotations

import logging
import signal

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)
EXIT_INTERRUPTED = 130
_POLL_MS = 200


def quit_on_sigint(app: QApplication) -> QTimer:
    """Install the handler; keep the returned timer alive as long as the event loop runs."""

    def interrupted(_signum, _frame) -> None:
        log.info("interrupted (Ctrl+C): closing the windows")
        app.closeAllWindows()
        app.exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, interrupted)
    timer = QTimer(app)
    timer.setObjectName("sigint-poll")
    timer.timeout.connect(lambda: None)  # returning to Python runs pending signal handlers
    timer.start(_POLL_MS)
    return timer
