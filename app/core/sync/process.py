"""A sync in a process of its own: the window's syncs (manual and scheduled) run here.

:func:`run_sync_process` starts ``python -m app.core.sync.process``, hands it a
:class:`~app.core.sync.plan.SyncPlan` over a pipe, relays its progress to a callback, passes a
cancel on, and returns its :class:`~app.core.sync.pipeline.SyncReport` — the same engine the CLI
runs in its own process. The window thus never loads Tencent's library (which aborts a process
that has loaded Qt), and the sync's CPU work never competes with the GUI thread for the GIL.

Messages from the child: ``("progress", SyncProgress)`` (at most ten a second), then exactly one
of ``("report", SyncReport)`` (succeeded or cancelled) or ``("failed", message_en, message_zh,
SyncReport | None, error class name)``. The parent may send ``("cancel",)``; a parent that goes away (its end of the
pipe closes) cancels the sync too. A child that ends without its last message raises
:class:`SyncProcessDied` naming how it ended (nothing is lost: the checkpoint moves with each
committed batch).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.core.processes import (
    NICENESS_ENV,
    Channel,
    ChannelClosed,
    apply_niceness,
    child_command,
    child_environment,
    describe_exit,
)

from .pipeline import SyncProgress, SyncReport

if TYPE_CHECKING:
    from .plan import SyncPlan

log = logging.getLogger(__name__)

SYNC_MODULE = "app.core.sync.process"


class SyncProcessDied(RuntimeError):
    """The sync process ended without reporting how the sync ended (``how``: e.g. "killed by
    signal 9 (SIGKILL)")."""

    def __init__(self, how: str):
        self.how = how
        super().__init__(f"the sync process {how}")


class SyncRunFailed(RuntimeError):
    """The sync in the sync process failed: its sentences (English, Chinese) and its report (the
    counts up to the failure; None if it failed before the run started)."""

    def __init__(self, message_en: str, message_zh: str, report: SyncReport | None, error_type: str = ""):
        super().__init__(message_en)
        self.message_en, self.message_zh, self.report = message_en, message_zh, report
        self.error_type = error_type  # the class name of the error in the sync process


# ---------------------------------------------------------------------------------------- parent

def run_sync_process(plan: SyncPlan, *, progress: Callable[[SyncProgress], None] | None = None,
                     cancel: Callable[[], bool] | None = None, niceness: int = 0,
                     started: Callable[[int], None] | None = None) -> SyncReport:
    """Run ``plan`` in a sync process and wait for it (blocking: call it off the GUI thread).

    ``progress`` is called on this thread for each report; ``cancel`` is polled every 0.1 s and,
    once true, asks the child to stop after its current batch. ``niceness`` lowers the child's CPU
    priority (and its SDK hosts'); ``started(pid)`` is called once the child runs. Returns the
    report (outcome succeeded or cancelled); raises SyncRunFailed (the child's sentences and
    counts) or SyncProcessDied."""
    env = child_environment({NICENESS_ENV: str(niceness)} if niceness else None)
    proc = subprocess.Popen(child_command(SYNC_MODULE), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, close_fds=True)
    if started is not None:
        started(proc.pid)
    assert proc.stdout is not None and proc.stdin is not None  # PIPE
    channel = Channel(proc.stdout, proc.stdin)
    done = threading.Event()
    stderr = threading.Thread(target=_log_output, args=(proc,), name="sync-process-output", daemon=True)
    stderr.start()
    watcher = threading.Thread(target=_watch_cancel, args=(channel, cancel, done), name="sync-process-cancel",
                               daemon=True)
    try:
        channel.send(("run", plan))
        watcher.start()
        while True:
            try:
                message = channel.receive()
            except ChannelClosed:
                break
            kind = message[0]
            if kind == "progress":
                if progress is not None:
                    progress(message[1])
            elif kind == "report":
                report: SyncReport = message[1]
                return report
            elif kind == "failed":
                raise SyncRunFailed(*message[1:])
    except ChannelClosed:
        pass
    finally:
        done.set()
        channel.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.join(5)
    raise SyncProcessDied(describe_exit(proc.returncode))


def _watch_cancel(channel: Channel, cancel: Callable[[], bool] | None, done: threading.Event) -> None:
    if cancel is None:
        return
    while not done.wait(0.1):
        if cancel():
            with contextlib.suppress(ChannelClosed):
                channel.send(("cancel",))
            return


def _log_output(proc: subprocess.Popen[bytes]) -> None:
    """What the sync process printed on stderr (Python warnings, a crash) goes to the log."""
    stderr = proc.stderr
    assert stderr is not None  # PIPE
    for line in iter(stderr.readline, b""):
        text = line.decode("utf-8", "replace").rstrip()
        if text:
            log.warning("sync process %s: %s", proc.pid, text[:500])
    with contextlib.suppress(OSError):
        stderr.close()


# ---------------------------------------------------------------------------------------- child

def _serve(channel: Channel) -> None:
    from app.core.logs import configure_logging

    from .failures import describe_failure

    request = channel.receive()
    if not request or request[0] != "run":
        raise SystemExit(f"unexpected request {request[:1]!r}")
    plan = request[1]
    configure_logging(plan.paths.log_dir)
    cancelled = threading.Event()

    def listen() -> None:
        while True:
            try:
                message = channel.receive()
            except (ChannelClosed, Exception):  # the parent is gone: stop after this batch
                cancelled.set()
                return
            if message and message[0] == "cancel":
                cancelled.set()

    threading.Thread(target=listen, name="sync-parent", daemon=True).start()
    syncer = None
    try:
        syncer = plan.build()
        report = syncer.run(progress=lambda p: channel.send(("progress", p)), cancel=cancelled.is_set)
    except BaseException as exc:  # every failure goes back as its sentences, with the counts so far
        en, zh = describe_failure(exc)
        channel.send(("failed", en, zh, getattr(syncer, "report", None), type(exc).__name__))
        return
    channel.send(("report", report))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl+C means
    apply_niceness()
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing printed by accident can corrupt the protocol
    sys.stdout = sys.stderr
    channel = Channel(proto_in, proto_out)
    with contextlib.suppress(ChannelClosed):
        _serve(channel)


if __name__ == "__main__":
    main()
