"""The app's log file: ``<log dir>/wecom-auditor.log``, rotated at 5 MB, 5 files kept.

Nothing logged may contain a secret or message content: log ids, counts and error texts.
The folder and the files are private to the user on POSIX (0700 / 0600), rotated ones included.
"""

from __future__ import annotations

import logging
import logging.handlers
from io import TextIOWrapper
from pathlib import Path

from app.core.config.paths import make_private, private_mkdir

LOG_NAME = "wecom-auditor.log"
_configured: set[Path] = set()


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Makes the log file private each time it is opened (at start and after each rotation), whatever
    the process umask."""

    def _open(self) -> TextIOWrapper:
        stream = super()._open()
        make_private(Path(self.baseFilename))
        return stream


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the ``app`` loggers to the log file (once per folder per process); returns its path."""
    path = Path(log_dir) / LOG_NAME
    if path in _configured:
        return path
    private_mkdir(path.parent)
    handler = _PrivateRotatingFileHandler(path, maxBytes=5 * 2**20, backupCount=5, encoding="utf-8")
    for existing in path.parent.glob(LOG_NAME + "*"):
        make_private(existing)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root = logging.getLogger("app")
    root.addHandler(handler)
    root.setLevel(level)
    _configured.add(path)
    return path
