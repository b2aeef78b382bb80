"""The search index kept current during a sync, from a process of its own at a lower CPU priority.

Indexing a message costs about a tenth of what syncing it costs (measured: ~95 µs of CPU per
message next to ~1 ms for RSA, DecryptData, parsing and writing). On a thread of the sync process it
competed with the sync's own writer for the GIL and with the decrypt workers for the CPU; in a
child process at a lower priority it takes the CPU the sync leaves (while GetChatData waits on the
network, during the media phase) and catches up with what is left when the sync ends.

Same interface as :class:`app.core.search.index.IndexFollower`: ``poke()`` after each committed
batch, ``close()`` at the end (waits until everything committed is indexed). Indexing never fails
a sync: a child that cannot start or dies is logged, and the next search catches up. While the sync
runs the child catches up at most every :data:`CATCH_UP_INTERVAL` seconds (:func:`follow`): each
catch-up commits a segment of its own, and fewer, larger ones cost less to write and merge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.processes import (
    NICENESS_ENV,
    Channel,
    ChannelClosed,
    apply_niceness,
    child_command,
    child_environment,
)

if TYPE_CHECKING:
    from app.core.store.db import Database

log = logging.getLogger(__name__)

INDEX_MODULE = "app.core.sync.index_process"
INDEX_NICENESS = 5  # below the decrypt workers: indexing takes the CPU the sync leaves
CATCH_UP_INTERVAL = 2.0  # seconds between the starts of two catch-ups while the sync runs


class IndexFollowerProcess:
    """Starts the index process for ``db`` (the archive) and ``index_dir``; see the module docstring."""

    def __init__(self, db: Database, index_dir: Path | None = None, log_dir: Path | None = None) -> None:
        from app.core.search.index import default_index_dir

        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        try:
            index_dir = index_dir or default_index_dir(db)
            env = child_environment({NICENESS_ENV: str(INDEX_NICENESS)})
            proc = self._proc = subprocess.Popen(child_command(INDEX_MODULE), stdin=subprocess.PIPE,
                                                 stdout=subprocess.PIPE, env=env, close_fds=True)
            assert proc.stdout is not None and proc.stdin is not None  # PIPE
            self._channel = Channel(proc.stdout, proc.stdin)
            # The URL holds the database password: it crosses the pipe, never argv or the environment.
            self._channel.send(("open", db.url.render_as_string(hide_password=False), str(index_dir),
                                str(log_dir) if log_dir else None))
        except (OSError, ChannelClosed) as exc:
            log.warning("the search index cannot follow this sync (%s); searches will catch up", exc)
            self._stop()

    def poke(self) -> None:
        if self._channel is None:
            return
        try:
            self._channel.send(("poke",))
        except ChannelClosed:
            log.warning("the search index process ended early; searches will catch up")
            self._stop()

    def close(self) -> None:
        """Wait until the index holds everything committed so far (the child's last catch-up)."""
        if self._channel is None:
            return
        with contextlib.suppress(ChannelClosed):
            self._channel.send(("close",))
            self._channel.receive()  # ("closed",) once the last catch-up is done
        self._stop()

    def _stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None:
            try:
                self._proc.wait(60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


def _serve(channel: Channel) -> None:
    import threading

    from app.core.search.index import IndexBusy, index_for
    from app.core.store.db import Database

    from .memory import release_free_memory

    request = channel.receive()
    if not request or request[0] != "open":
        raise SystemExit("unexpected request")
    if request[3]:
        from app.core.logs import configure_logging

        configure_logging(Path(request[3]))
    db = Database(request[1], migrate=False)
    index = index_for(request[2])
    pokes: queue.Queue[str] = queue.Queue()

    def listen() -> None:  # pokes coalesce: one catch-up covers every batch committed before it
        while True:
            try:
                message = channel.receive()
            except ChannelClosed:
                pokes.put("close")
                return
            pokes.put(message[0])
            if message[0] == "close":
                return

    threading.Thread(target=listen, daemon=True).start()

    def catch_up() -> None:
        try:
            index.catch_up(db, blocking=True)
        except IndexBusy:
            pass  # another process is indexing; it will pick these messages up
        except Exception:  # the index is derived data: never let it stop a sync
            logging.getLogger(__name__).exception("updating the search index failed; searches will catch up")
        release_free_memory()

    follow(pokes, catch_up)
    with contextlib.suppress(ChannelClosed):
        channel.send(("closed",))
    db.close()


def follow(pokes: queue.Queue[str], catch_up: Callable[[], None], interval: float = CATCH_UP_INTERVAL) -> None:
    """Call ``catch_up`` after pokes ("poke" after each committed batch, "close" at the end) until
    the close: at once after a quiet spell, else at most once per ``interval`` seconds (the pokes
    in between coalesce: one catch-up indexes every batch committed before it, and commits one
    segment, which tantivy merges later), and always once after the close."""
    closing = waiting = False  # waiting: a poke came in since the last catch-up began
    while True:
        if not (waiting or closing):
            closing = pokes.get() == "close"
        while not pokes.empty():
            closing = pokes.get_nowait() == "close" or closing
        started = time.monotonic()
        catch_up()
        if closing:
            return
        waiting = False
        while (left := started + interval - time.monotonic()) > 0:
            try:
                kind = pokes.get(timeout=left)
            except queue.Empty:
                break
            waiting = True
            if kind == "close":
                closing = True
                break


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl+C means
    apply_niceness()
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with contextlib.suppress(ChannelClosed):
        _serve(Channel(proto_in, proto_out))


if __name__ == "__main__":
    main()
