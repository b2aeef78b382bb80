"""The app's clock: times are integers of milliseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
