"""Tencent's library at arm's length: SDK host processes, seen from the process that uses them.

The library never lives in a process that has loaded Qt (it aborts there), and some inputs make it
kill its process. So every call into it happens in an SDK host (:mod:`app.core.sdk.host`), a child
process this module starts, talks to over a pipe and restarts when it dies:

* :class:`SdkHost` — one host process: start, one request at a time, its output (decoded, logged,
  secrets redacted), how it ended.
* :class:`HostedSdk` — GetChatData and GetMediaData of one corp, with the calls and return values
  of :class:`~app.core.sdk.binding.FinanceSdk`: one host for GetChatData and one per concurrent
  media download (Tencent's own sample uses a handle per thread). A host that dies during a media
  file fails that file (:class:`~app.core.sdk.errors.SdkCrashError`); the next file gets a new host.
* :func:`check_library` — load a library file in a throw-away host and say whether it is usable.

What the library prints is read here: its ``WeWorkFinanceSdk:access:{"errcode":40001,...}`` line
(the ``gettoken`` answer it got, in GBK) turns the misleading "network error" 10001 of GetChatData
into the real reason (:func:`access_errcode`).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.processes import (
    NICENESS_ENV,
    Channel,
    ChannelClosed,
    child_command,
    child_environment,
    describe_exit,
)

from .binding import ChatDataItem, iter_media_chunks, library_file_problem
from .errors import SdkCrashError, SdkError, SdkLoadError, SdkResponseError

log = logging.getLogger(__name__)
library_log = logging.getLogger("app.sdk.library")  # what Tencent's library printed

HOST_MODULE = "app.core.sdk.host"
_MARKER = b"\x1e"
START_TIMEOUT = 60.0  # seconds for a host to start and load the library
OUTPUT_LINES = 200  # recent output lines kept per host for diagnosis
_ACCESS = re.compile(rb"WeWorkFinanceSdk:access:\s*(\{.*\})")
_REDACT = re.compile(r"(corpsecret|secret|access_token|token)=([^&\s\"']+)", re.IGNORECASE)
_TERMINATE = re.compile(r"terminate called after throwing an instance of '([^']{1,80})'")


@dataclass(frozen=True)
class LibrarySpec:
    """Which SDK library a host loads, and the environment it needs (the simulator reads its corpus
    folder from ``WECOM_SIM_CORPUS``)."""

    path: str
    env: Mapping[str, str] = field(default_factory=dict)


class SdkHostDied(RuntimeError):
    """The host process ended while it owed an answer. ``how`` says how ("killed by signal 6
    (SIGABRT)"), ``reason`` what the library said about it, if anything (e.g. the C++ exception)."""

    def __init__(self, how: str, reason: str = ""):
        self.how, self.reason = how, reason
        super().__init__(f"the SDK process {how}" + (f" ({reason})" if reason else ""))


def decode_output(line: bytes) -> str:
    """A line the library printed, as text: UTF-8 if it is, else GBK (Tencent's), never failing."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("gbk", "replace")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with secrets, tokens and ``corpsecret=`` values replaced by ``[redacted]``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "[redacted]")
    return _REDACT.sub(lambda m: f"{m.group(1)}=[redacted]", text)


def access_errcode(lines: list[bytes]) -> tuple[int, str] | None:
    """(errcode, errmsg) of the last non-zero ``WeWorkFinanceSdk:access:{...}`` line, if any."""
    found = None
    for line in lines:
        m = _ACCESS.search(line)
        if not m:
            continue
        try:
            doc = json.loads(decode_output(m.group(1)))
        except ValueError:
            continue
        code = doc.get("errcode") if isinstance(doc, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            msg = doc.get("errmsg")
            found = (code, msg if isinstance(msg, str) else "")
    return found


class SdkHost:
    """One SDK host process. Thread-safe: requests from several threads run one after another.

    :meth:`request` starts the host on first use (and again after it died): a fresh interpreter
    running :mod:`app.core.sdk.host`, which loads ``library``. ``niceness`` lowers its CPU priority
    (POSIX). ``secrets`` are never logged when the library prints them.
    """

    def __init__(self, library: LibrarySpec, *, name: str = "sdk-host", niceness: int = 0,
                 secrets: tuple[str, ...] = ()) -> None:
        self.library = library
        self.name = name
        self.niceness = niceness
        self.secrets = secrets
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._reader: threading.Thread | None = None
        self._output: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=OUTPUT_LINES)
        self._marker = 0
        self._marker_cond = threading.Condition()
        self._number = 0
        self._closed = False
        self.starts = 0  # how many processes this host has started (1 + restarts after deaths)

    # ------------------------------------------------------------------ lifecycle
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the process and load the library (SdkLoadError with the library's reason)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this SDK host was closed")
            if self._proc is not None and self._proc.poll() is None:
                return
            self._spawn()
            self._call("load", self.library.path, dict(self.library.env))

    def _spawn(self) -> None:
        self._discard()
        env = child_environment({NICENESS_ENV: str(self.niceness)} if self.niceness else None)
        proc = subprocess.Popen(child_command(HOST_MODULE), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, close_fds=True)
        assert proc.stdout is not None and proc.stdin is not None  # PIPE
        self._proc = proc
        self._channel = Channel(proc.stdout, proc.stdin)
        self._number = 0
        with self._marker_cond:
            self._marker = 0
        self._reader = threading.Thread(target=self._read_output, args=(proc,), name=f"{self.name}-output",
                                        daemon=True)
        self._reader.start()
        self.starts += 1

    def close(self, timeout: float = 5.0) -> None:
        """Ask the host to exit (it destroys its SDK handle), kill it if it does not. Idempotent."""
        with self._lock:
            self._closed = True
            if self._proc is not None and self._proc.poll() is None:
                with contextlib.suppress(Exception):
                    if self._channel is not None:
                        self._channel.send(("exit",))
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._discard()

    def kill(self) -> None:
        """End the process now, from any thread (a cancelled or hung call); the request in
        progress raises SdkHostDied, the next one starts a new process."""
        with contextlib.suppress(Exception):
            if self._proc is not None:
                self._proc.kill()

    def restart(self) -> None:
        """End the process (waiting for a request in progress); the next request starts a new one."""
        with self._lock:
            self._discard()

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(5)
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None

    # ------------------------------------------------------------------ requests
    def request(self, op: str, *args: object) -> Any:
        """Send one request and return its answer; the request's exception if the host answered
        with one (after all output of the request was read); SdkHostDied if the process ended."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self.start()
            return self._call(op, *args)

    def _call(self, op: str, *args: object) -> Any:
        self._number += 1
        number = self._number
        channel = self._channel
        assert channel is not None  # the process was started (start(), request())
        try:
            channel.send((op, *args))
            status, value = channel.receive()
        except ChannelClosed:
            raise self._died() from None
        if status == "ok":
            return value
        self._wait_marker(number)
        if isinstance(value, SdkError):
            value.output = self.output_of(number)  # what the library printed during this call
        raise value

    def _died(self) -> SdkHostDied:
        proc = self._proc
        assert proc is not None  # only a request to a started process finds it dead
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(5)  # the pipe is closed: the reader has everything
        text = [decode_output(line) for _, line in list(self._output)[-20:]]
        reason = ""
        for line in text:
            m = _TERMINATE.search(line)
            if m:
                reason = f"the library threw {m.group(1)}"
        how = describe_exit(proc.returncode)
        log.warning("SDK host %s (pid %s) %s%s", self.name, proc.pid, how, f": {reason}" if reason else "")
        self._discard()
        return SdkHostDied(how, reason)

    def _wait_marker(self, number: int, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        with self._marker_cond:
            while self._marker < number:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._marker_cond.wait(left)

    def output_of(self, number: int | None = None) -> list[bytes]:
        """Output lines of request ``number`` (default: the last one)."""
        n = self._number if number is None else number
        return [line for k, line in list(self._output) if k == n]

    # ------------------------------------------------------------------ output (reader thread)
    def _read_output(self, proc: subprocess.Popen[bytes]) -> None:
        decoder_name = f"{self.name}[{proc.pid}]"
        stderr = proc.stderr
        assert stderr is not None  # PIPE
        for line in iter(stderr.readline, b""):
            if line.startswith(_MARKER):
                with contextlib.suppress(ValueError), self._marker_cond:
                    self._marker = int(line[1:].strip())
                    self._marker_cond.notify_all()
                continue
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            with self._marker_cond:
                number = self._marker + 1  # the request in progress
            self._output.append((number, line))
            library_log.warning("%s: %s", decoder_name, redact(decode_output(line), self.secrets)[:500])
        with contextlib.suppress(OSError):
            stderr.close()


# ---------------------------------------------------------------------------------- HostedSdk

def _crash_error(call: str, died: SdkHostDied, what: str) -> SdkCrashError:
    how = died.how + (f"; {died.reason}" if died.reason else "")
    return SdkCrashError(0, f"Tencent's library crashed on {what} ({how})",
                         f"腾讯 SDK 库处理{'该文件' if call == 'GetMediaData' else '该条目'}时崩溃（{how}）",
                         call=call)


class HostedSdk:
    """GetChatData and GetMediaData of one corp, each call made in an SDK host process.

    The same calls as :class:`~app.core.sdk.binding.FinanceSdk` (``get_chat_data``,
    ``iter_media``, context manager), safe from several threads: one host answers GetChatData, and
    each media file in flight has a host of its own (at most ``media_hosts``). A host that dies
    costs what it was doing: GetChatData raises a retryable SdkResponseError (the next call starts a
    new host), a media file SdkCrashError (an item error: the file is failed with that reason).
    A GetChatData that fails with a network error after the library printed a ``gettoken`` errcode
    raises that errcode's sentence instead (:mod:`app.core.wecom.errcodes`).
    """

    def __init__(self, library: LibrarySpec, corpid: str, secret: str, *, proxy: str | None = None,
                 passwd: str | None = None, timeout: int = 30, media_hosts: int = 4, niceness: int = 0):
        self.library = library
        self.corpid = corpid
        self._open_args = (corpid, secret, proxy, passwd, timeout)
        self._secrets = tuple(s for s in (secret, passwd) if s)
        self.niceness = niceness
        self._chat = self._new_host("sdk-chat")
        self._media_free: queue.LifoQueue[SdkHost] = queue.LifoQueue()
        self._media_slots = threading.BoundedSemaphore(max(1, media_hosts))
        self._media_all: list[SdkHost] = []
        self._lock = threading.Lock()
        self._closed = False

    def _new_host(self, name: str) -> SdkHost:
        return SdkHost(self.library, name=name, niceness=self.niceness, secrets=self._secrets)

    def _ready(self, host: SdkHost) -> SdkHost:
        """``host`` running with an open handle (a host that died is started again)."""
        if not host.running:
            host.start()
            host.request("open", *self._open_args)
        return host

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> HostedSdk:
        """Start the GetChatData host, load the library and Init (SdkLoadError / SdkError)."""
        try:
            self._ready(self._chat)
        except SdkHostDied as died:
            raise SdkLoadError(f"Tencent's library {self.library.path} crashed while loading or starting "
                               f"({died})", f"腾讯的库 {self.library.path} 在加载或启动时崩溃（{died}）") from None
        return self

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            hosts = [self._chat, *self._media_all]
        for h in hosts:
            h.close()

    def __enter__(self) -> HostedSdk:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ calls
    def renew(self) -> None:
        """A new handle for GetChatData, hence a new access token (Tencent's library refreshes its
        token only when it expires, not when WeCom says it is invalid)."""
        self._chat.restart()

    def get_chat_data(self, seq: int, limit: int = 1000) -> list[ChatDataItem]:
        try:
            self._ready(self._chat)
            items: list[ChatDataItem] = self._chat.request("chat", seq, limit)
            return items
        except SdkHostDied as died:
            raise SdkResponseError(0, f"Tencent's library crashed while fetching entries ({died.how}); the app "
                                      f"starts it again", f"腾讯 SDK 库拉取会话时崩溃（{died.how}），将重新启动后重试",
                                   call="GetChatData", retryable=True) from None
        except SdkError as exc:
            raise self._explained(exc) from None

    def _explained(self, exc: SdkError) -> SdkError:
        """The real reason behind a GetChatData failure, if the library printed one."""
        found = access_errcode(getattr(exc, "output", []))
        if found is None:
            return exc
        from app.core.wecom.errcodes import NEW_TOKEN, TRY_LATER, errcode_info

        code, errmsg = found
        info = errcode_info(code, errmsg)
        return SdkResponseError(code, info.en, info.zh, call=exc.call, detail=f"the SDK reported error {exc.code}",
                                retryable=info.kind in (TRY_LATER, NEW_TOKEN), new_token=info.kind == NEW_TOKEN)

    def iter_media(self, sdkfileid: str) -> Iterator[bytes]:
        """The file's bytes chunk by chunk, all from one host. SdkCrashError if the host dies."""
        self._media_slots.acquire()
        try:
            host = self._media_host()
            try:
                yield from iter_media_chunks(lambda index, fileid: self._media_chunk(host, index, fileid), sdkfileid)
            finally:
                self._media_free.put(host)
        finally:
            self._media_slots.release()

    def _media_host(self) -> SdkHost:
        try:
            return self._media_free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise RuntimeError("this SDK connection was closed")
            host = self._new_host(f"sdk-media-{len(self._media_all) + 1}")
            self._media_all.append(host)
        return host

    def _media_chunk(self, host: SdkHost, index: bytes, fileid: bytes) -> tuple[bytes, bytes, bool]:
        try:
            self._ready(host)
            chunk: tuple[bytes, bytes, bool] = host.request("media", index, fileid)
            return chunk
        except SdkHostDied as died:
            raise _crash_error("GetMediaData", died, "this media file") from None


# ---------------------------------------------------------------------------------- checks

@dataclass(frozen=True)
class LibraryCheck:
    """What :func:`check_library` found: ``ok``, and one sentence either way (English, Chinese)."""

    ok: bool
    message: str
    message_zh: str


def check_library(library: LibrarySpec) -> LibraryCheck:
    """Load ``library`` in a throw-away SDK host and say whether it is a usable Finance SDK.

    Blocking (about a second): call it off the GUI thread. Never raises for a bad library: the
    sentence says what is wrong (missing, not a library, another architecture, not the SDK, or it
    crashed while loading)."""
    host = SdkHost(library, name="sdk-check")
    try:
        host.start()
        return LibraryCheck(True, f"The SDK library {library.path} loads and exports every SDK function.",
                            f"SDK 库 {library.path} 可以加载，并导出了全部 SDK 函数。")
    except SdkLoadError as exc:
        return LibraryCheck(False, exc.message_en, exc.message_zh)
    except SdkHostDied as died:
        return LibraryCheck(False, f"The SDK library {library.path} crashed its process while loading ({died.how}); "
                                   f"it is not a working Finance SDK for this computer.",
                            f"SDK 库 {library.path} 在加载时使其进程崩溃（{died.how}）：它不是本机可用的会话存档 SDK。")
    except OSError as exc:
        return LibraryCheck(False, f"The SDK library cannot be checked: a helper process did not start ({exc}).",
                            f"无法检查 SDK 库：辅助进程未能启动（{exc}）。")
    finally:
        host.close()


__all__ = ["HostedSdk", "LibraryCheck", "LibrarySpec", "SdkHost", "SdkHostDied", "access_errcode", "check_library",
           "decode_output", "library_file_problem", "redact"]
