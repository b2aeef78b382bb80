"""The search-index process's catch-up rhythm during a sync (app/core/sync/index_process.follow)."""

from __future__ import annotations

import queue
import threading
import time

from app.core.sync.index_process import follow


def _start(pokes: queue.Queue[str], catch_up, interval: float) -> threading.Thread:
    thread = threading.Thread(target=follow, args=(pokes, catch_up, interval), daemon=True)
    thread.start()
    return thread


def test_pokes_during_the_interval_coalesce_into_one_catch_up_and_none_is_lost():
    pokes: queue.Queue[str] = queue.Queue()
    calls: list[float] = []

    def catch_up() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:  # three batches commit while the first catch-up runs
            for _ in range(3):
                pokes.put("poke")

    pokes.put("poke")
    thread = _start(pokes, catch_up, 0.2)
    time.sleep(1.0)
    assert len(calls) == 2  # the three pokes: one catch-up, not three, and not none
    assert calls[1] - calls[0] >= 0.2  # an interval after the first began
    pokes.put("close")
    thread.join(5)
    assert not thread.is_alive()
    assert len(calls) == 3  # the close: a last catch-up, then the follower ends


def test_the_close_is_caught_up_at_once_even_within_the_interval():
    pokes: queue.Queue[str] = queue.Queue()
    calls: list[float] = []
    pokes.put("poke")
    thread = _start(pokes, lambda: calls.append(time.monotonic()), 30.0)
    time.sleep(0.2)
    pokes.put("poke")  # within the interval: waits ...
    closed = time.monotonic()
    pokes.put("close")  # ... but the close does not
    thread.join(5)
    assert not thread.is_alive()
    assert len(calls) == 2 and calls[1] >= closed and calls[1] - closed < 5
