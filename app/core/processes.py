"""Child processes of the app: how to start one, and the framed pipe protocol they speak.

Two kinds of child exist (see ARCHITECTURE.md, "Processes"): the SDK host (``app.core.sdk.host``),
the only kind of process that loads Tencent's library, and the sync process
(``app.core.sync.process``), which runs a whole sync for the window. Both are started with
:func:`child_command` and talk to their parent over their stdin/stdout with :class:`Channel`:
frames of a 4-byte little-endian length and a pickle. Pickle is safe here because both ends are
this program, started by the parent itself, on pipes nobody else holds.

A child never inherits Qt: it is a fresh interpreter (not a fork), so a window that loaded Qt can
start one.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from typing import IO, Any

NICENESS_ENV = "WECOM_AUDITOR_NICENESS"  # a child lowers its own CPU priority by this much (POSIX)
CHILD_FLAG = "--child-process"  # a frozen bundle's executable runs a child module when given this
_HEADER = struct.Struct("<I")
MAX_FRAME = 512 * 2**20  # a frame larger than this is a protocol error, not a message


class ChannelClosed(EOFError):
    """The other end closed its pipe (it exited or died)."""


class Channel:
    """A framed, pickled message stream over a pair of binary pipes. ``send`` is thread-safe;
    ``receive`` must be called from one thread at a time."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self._reader, self._writer = reader, writer
        self._send_lock = threading.Lock()

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            try:
                self._writer.write(_HEADER.pack(len(data)))
                self._writer.write(data)
                self._writer.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:  # ValueError: the pipe was closed here
                raise ChannelClosed(f"the pipe is closed ({exc})") from None

    def receive(self) -> Any:
        header = self._read_exactly(_HEADER.size)
        (size,) = _HEADER.unpack(header)
        if size > MAX_FRAME:
            raise ChannelClosed(f"a frame of {size} bytes is larger than the protocol allows")
        return pickle.loads(self._read_exactly(size))

    def _read_exactly(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            try:
                chunk = self._reader.read(left)
            except (OSError, ValueError) as exc:
                raise ChannelClosed(f"the pipe is closed ({exc})") from None
            if not chunk:
                raise ChannelClosed("the other end closed the pipe")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        for f in (self._writer, self._reader):
            with contextlib.suppress(OSError):
                f.close()


def child_command(module: str) -> list[str]:
    """The command line that runs ``module``'s ``main()`` in a fresh interpreter: ``python -m
    module`` from a source or pip install, the bundle's executable with :data:`CHILD_FLAG` when
    frozen (PyInstaller), whose entry point dispatches to the module."""
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG, module]
    return [sys.executable, "-X", "utf8", "-m", module]


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child: this process's, plus ``extra``, with Python's own output
    unbuffered (so a dying child's last words reach the parent) and no Qt platform variables
    that could make a library of the child try to open a display."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSTARTUP", None)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and sys.platform.startswith("linux"):
        # A child of the frozen bundle loads the bundle's libraries (the simulator's libcrypto) from
        # its folder. The bundle's runtime hook took that folder off this process's LD_LIBRARY_PATH,
        # for the system programs the app runs (packaging/rthook_wecom_auditor.py); a child of our
        # own gets it back here.
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (bundle, env.get("LD_LIBRARY_PATH", "")) if p)
    if extra:
        env.update(extra)
    return env


def describe_exit(returncode: int | None) -> str:
    """'exit code 3' / 'killed by signal 6 (SIGABRT)' for a child's return code."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-returncode} ({name})"
    if os.name == "nt" and returncode >= 0xC0000000:  # an NTSTATUS such as an access violation
        return f"crashed (status 0x{returncode:08X})"
    return f"exit code {returncode}"


def apply_niceness() -> None:
    """In a child: lower this process's CPU priority as its parent asked (:data:`NICENESS_ENV`), so
    that work in the background leaves the CPU to the window. Children of this child inherit it."""
    value = os.environ.pop(NICENESS_ENV, "")
    if value.isdigit() and int(value) > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(int(value))
