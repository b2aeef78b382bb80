"""Snowflake-style 64-bit ids: time-ordered, unique across workstations sharing one database.

Layout (most significant first): 41 bits of milliseconds since 2024-01-01 UTC (good until 2093),
10 bits of node id, 12 bits of per-millisecond sequence. The node id comes from the database
(:func:`register_node` inserts a row into ``id_nodes`` and uses its auto-increment id modulo 1024),
so two processes writing one MySQL never share a node id unless 1024 others registered between them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NODE_BITS = 10
SEQ_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQ = (1 << SEQ_BITS) - 1


class SnowflakeIds:
    """Thread-safe id generator for one node."""

    def __init__(self, node: int, clock: Callable[[], float] = time.time) -> None:
        if not 0 <= node <= MAX_NODE:
            raise ValueError(f"node must be within 0..{MAX_NODE}")
        self.node = node
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = -1
        self._seq = 0

    def _now_ms(self) -> int:
        return int(self._clock() * 1000) - EPOCH_MS

    def next_id(self) -> int:
        with self._lock:
            now = self._now_ms()
            # A clock that steps back must not produce a smaller or repeated id: stay on the last ms.
            if now <= self._last_ms:
                now = self._last_ms
                self._seq = (self._seq + 1) & MAX_SEQ
                if self._seq == 0:  # 4096 ids in this ms: borrow the next one
                    now = self._last_ms + 1
            else:
                self._seq = 0
            self._last_ms = now
            return (now << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | self._seq

    def take(self, n: int) -> list[int]:
        return [self.next_id() for _ in range(n)]


def id_time_ms(snowflake: int) -> int:
    """The creation time (ms since the Unix epoch) encoded in an id."""
    return (snowflake >> (NODE_BITS + SEQ_BITS)) + EPOCH_MS
