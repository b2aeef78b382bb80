"""The app's log file: ``<log dir>/wecom-auditor.log``, rotated at 5 MB, 5 files kept.

Nothing logged may contain a secret or message content: log ids, counts and error texts.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_NAME = "wecom-auditor.log"
_configured: set[Path] = set()


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the ``app`` loggers to the log file (once per folder per process); returns its path."""
    path = Path(log_dir) / LOG_NAME
    if path in _configured:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5 * 2**20, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root = logging.getLogger("app")
    root.addHandler(handler)
    root.setLevel(level)
    _configured.add(path)
    return path
