"""The one module that owns the Finance SDK library (cffi, ABI mode).

Nothing outside this module sees a C type: callers get Python bytes, dataclasses and the
exceptions of :mod:`app.core.sdk.errors`. Every ``Slice_t`` and ``MediaData_t`` allocated here is
freed in a ``finally`` on every path.

Threads
-------
cffi releases the GIL around each C call, so calls on several threads run in parallel.

* ``DecryptData`` takes no handle: :func:`decrypt_data` is safe from any thread at any time.
* ``GetChatData`` and ``GetMediaData`` on one handle: Tencent documents concurrent calls as supported
  since SDK v1.1 (2020-04). For older libraries pass ``serialize_calls=True`` and this class takes a
  per-handle lock around each call. Either way, :meth:`FinanceSdk.close` waits for calls in flight
  on other threads to return before ``DestroySdk``, and any call after close raises
  :class:`SdkClosedError` instead of touching freed memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from cffi import FFI

from app.core.picklable import compact_pickle

from .errors import SdkClosedError, SdkLoadError, SdkResponseError, error_for_code

NATIVE_DIR = Path(__file__).resolve().parents[3] / "native"
HEADER_PATH = NATIVE_DIR / "include" / "finance_sdk.h"

SDK_FUNCTIONS = (
    "NewSdk", "Init", "GetChatData", "DecryptData", "GetMediaData", "DestroySdk",
    "NewSlice", "FreeSlice", "GetContentFromSlice", "GetSliceLen",
    "NewMediaData", "FreeMediaData", "GetOutIndexBuf", "GetData", "GetIndexLen", "GetDataLen",
    "IsMediaDataFinish",
)

MAX_LIMIT = 1000
DEFAULT_TIMEOUT = 30  # seconds, passed to the SDK; one GetChatData may block about that long

_ffi = FFI()
_ffi.cdef(HEADER_PATH.read_text(encoding="utf-8"))

CData = FFI.CData
_T = TypeVar("_T")


class SdkLibrary(Protocol):
    """The functions of native/include/finance_sdk.h as cffi calls them: bytes for ``const char *``,
    Python ints for C ints, CData for the pointers (``_ffi.NULL`` for a null one)."""

    def NewSdk(self) -> CData: ...
    def Init(self, sdk: CData, corpid: bytes, secret: bytes) -> int: ...
    def GetChatData(self, sdk: CData, seq: int, limit: int, proxy: bytes, passwd: bytes, timeout: int,
                    chat_datas: CData) -> int: ...
    def DecryptData(self, encrypt_key: bytes, encrypt_msg: bytes, msg: CData) -> int: ...
    def GetMediaData(self, sdk: CData, indexbuf: bytes, sdk_fileid: bytes, proxy: bytes, passwd: bytes,
                     timeout: int, media_data: CData) -> int: ...
    def DestroySdk(self, sdk: CData) -> None: ...
    def NewSlice(self) -> CData: ...
    def FreeSlice(self, slice_: CData) -> None: ...
    def GetContentFromSlice(self, slice_: CData) -> CData: ...
    def GetSliceLen(self, slice_: CData) -> int: ...
    def NewMediaData(self) -> CData: ...
    def FreeMediaData(self, media_data: CData) -> None: ...
    def GetOutIndexBuf(self, media_data: CData) -> CData: ...
    def GetData(self, media_data: CData) -> CData: ...
    def GetIndexLen(self, media_data: CData) -> int: ...
    def GetDataLen(self, media_data: CData) -> int: ...
    def IsMediaDataFinish(self, media_data: CData) -> int: ...


_libraries: dict[str, SdkLibrary] = {}
_libraries_lock = threading.Lock()


# --------------------------------------------------------------------------- loading

_ELF_MACHINES = {3: "x86 (32-bit)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC 64", 40: "ARM (32-bit)",
                 62: "x86-64", 183: "ARM64 (aarch64)", 243: "RISC-V"}
_HOST_MACHINES = {"x86_64": 62, "amd64": 62, "aarch64": 183, "arm64": 183, "i686": 3, "i386": 3}


def _describe_unloadable(path: Path, os_error: str) -> SdkLoadError:
    """Why ``path`` cannot be loaded, from its first bytes."""
    return _header_problem(path) or SdkLoadError(
        f"The SDK library {path} could not be loaded ({os_error.strip()}); check that its dependencies (e.g. "
        f"libcrypto, libcurl) are installed.",
        f"无法加载 SDK 库 {path}（{os_error.strip()}）：请确认其依赖（如 libcrypto、libcurl）已安装。")


def _header_problem(path: Path) -> SdkLoadError | None:
    """Why the file's first bytes rule it out as an SDK library for this computer, or None."""
    try:
        with path.open("rb") as f:
            head = f.read(20)
    except OSError as exc:
        return SdkLoadError(f"The SDK library {path} cannot be read ({exc.strerror}); check its permissions.",
                            f"无法读取 SDK 库 {path}（{exc.strerror}）：请检查其权限。")
    if head[:2] == b"MZ":
        return SdkLoadError(f"The SDK library {path} is a Windows DLL; on this system choose the Linux library "
                            f"libWeWorkFinanceSdk_C.so in Settings.",
                            f"SDK 库 {path} 是 Windows DLL：在本系统上请在“设置”中选择 Linux 版的 "
                            f"libWeWorkFinanceSdk_C.so。")
    if head[:4] != b"\x7fELF":
        return SdkLoadError(f"The file {path} is not a shared library (not ELF); choose Tencent's "
                            f"libWeWorkFinanceSdk_C.so in Settings.",
                            f"文件 {path} 不是共享库（不是 ELF）：请在“设置”中选择腾讯的 libWeWorkFinanceSdk_C.so。")
    elf_class = head[4]
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    host = platform.machine().lower()
    host_machine = _HOST_MACHINES.get(host)
    if (host_machine is not None and machine != host_machine) or elf_class != 2:
        built = _ELF_MACHINES.get(machine, f"machine type {machine}")
        if elf_class == 1:
            built += ", 32-bit"
        return SdkLoadError(f"The SDK library {path} is built for {built}, but this computer runs {host}; "
                            f"download the SDK build for {host} from WeCom and choose it in Settings.",
                            f"SDK 库 {path} 是为 {built} 构建的，而本机是 {host}：请从企业微信下载 {host} 版的 SDK，"
                            f"并在“设置”中选择它。")
    return None


# Tests of the binding itself (tests/sdk) run under pytest-qt, which has loaded Qt; they set this
# to load the simulator in their own process. The app never does.
ALLOW_QT_PROCESS = False
_QT_MODULES = ("PySide6.QtCore", "PyQt6.QtCore", "PySide2.QtCore", "PyQt5.QtCore")


def library_file_problem(path: str | os.PathLike[str]) -> SdkLoadError | None:
    """Why the file at ``path`` cannot be an SDK library for this computer, from the file alone
    (missing, a folder, not a shared library, another architecture), without loading it: the error
    loading it would raise; None if it may be one. Cheap and safe in any process, the window's
    included."""
    p = Path(path).expanduser()
    if not p.exists():
        return SdkLoadError(f"The SDK library {p} does not exist; set the SDK library path in Settings to your "
                            f"copy of libWeWorkFinanceSdk_C.so (or build the simulator: python native/build.py).",
                            f"SDK 库 {p} 不存在：请在“设置”中把 SDK 库路径设为您的 libWeWorkFinanceSdk_C.so"
                            f"（或构建模拟器：python native/build.py）。")
    if p.is_dir():
        return SdkLoadError(f"The SDK library path {p} is a folder; choose the library file itself.",
                            f"SDK 库路径 {p} 是文件夹：请选择库文件本身。")
    return _header_problem(p)  # None: the header looks right, only loading it can tell more


def load_library(path: str | os.PathLike[str]) -> SdkLibrary:
    """Load (once per path) and check the SDK library at ``path``.

    Raises SdkLoadError with one sentence naming the path and what to do when the file is
    missing, not a shared library, built for another architecture, or lacks SDK symbols — and when
    this process has loaded Qt: Tencent's library aborts such a process while loading (its static
    libstdc++ clashes with Qt's), so it is loaded only in SDK host processes (app.core.sdk.hosted).
    """
    if not ALLOW_QT_PROCESS and any(m in sys.modules for m in _QT_MODULES):
        raise SdkLoadError("Tencent's SDK library cannot be loaded in a process that has loaded Qt (it would "
                           "abort the process); the app loads it in an SDK host process "
                           "(app.core.sdk.hosted) — this is a bug in the caller",
                           "腾讯的 SDK 库不能在已加载 Qt 的进程中加载（会导致进程中止）：应用应在 SDK 宿主进程中"
                           "加载它（app.core.sdk.hosted）——这是调用方的缺陷")
    p = Path(path).expanduser()
    key = str(p.resolve()) if p.exists() else str(p)
    with _libraries_lock:
        lib = _libraries.get(key)
        if lib is not None:
            return lib
        problem = library_file_problem(p)
        if problem:
            raise problem
        try:
            loaded = _ffi.dlopen(str(p))
        except OSError as exc:
            raise _describe_unloadable(p, str(exc)) from None
        missing = []
        for name in SDK_FUNCTIONS:
            try:
                getattr(loaded, name)
            except AttributeError:
                missing.append(name)
        if missing:
            raise SdkLoadError(
                f"The library {p} is not the WeCom Finance SDK: it does not export "
                f"{', '.join(missing)}; choose Tencent's libWeWorkFinanceSdk_C.so in Settings.",
                f"库 {p} 不是企业微信会话存档 SDK：它没有导出 {', '.join(missing)}；请在“设置”中选择腾讯的 "
                f"libWeWorkFinanceSdk_C.so。")
        lib = cast(SdkLibrary, loaded)  # every function of SDK_FUNCTIONS is there (checked above)
        _libraries[key] = lib
        return lib


# --------------------------------------------------------------------------- helpers

def _cstr(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if b"\0" in value:
        raise ValueError("SDK string arguments cannot contain NUL bytes")
    return value


def _take_slice(lib: SdkLibrary, slice_ptr: CData) -> bytes:
    """Copy a Slice_t's content out as bytes (binary-safe, by length)."""
    length = lib.GetSliceLen(slice_ptr)
    if length <= 0:
        return b""
    content: bytes = _ffi.buffer(lib.GetContentFromSlice(slice_ptr), length)[:]
    return content


MIN_ENCRYPT_CHAT_MSG = 13  # Tencent's DecryptData ends its process (std::terminate) on anything shorter


def decrypt_data(library: SdkLibrary | str | os.PathLike[str], random_key: bytes | str,
                 encrypt_chat_msg: str | bytes) -> bytes:
    """DecryptData: the plaintext message JSON bytes of one archive entry.

    ``library`` is a path or an already loaded library; ``random_key`` is the RSA-decrypted
    random key. Safe on any thread (no handle). Raises an SdkError subclass on a non-zero code,
    and refuses (10006, without calling) inputs known to kill the calling process in Tencent's
    library: an ``encrypt_chat_msg`` shorter than 13 characters, empty or missing.
    """
    lib = library if not isinstance(library, (str, os.PathLike)) else load_library(library)
    if isinstance(random_key, str):
        random_key = random_key.encode("utf-8")
    # The key is passed as a C string: a key with NUL bytes (e.g. implicit-rejection output of a
    # wrong RSA key) would be silently truncated by C, so it is refused here as the SDK would.
    if b"\0" in random_key:
        raise error_for_code(10008, call="DecryptData", detail="random key contains NUL bytes")
    if isinstance(encrypt_chat_msg, str):
        encrypt_chat_msg = encrypt_chat_msg.encode("utf-8", "replace")
    if len(encrypt_chat_msg) < MIN_ENCRYPT_CHAT_MSG:
        raise error_for_code(10006, call="DecryptData",
                             detail=f"the encrypted message is {len(encrypt_chat_msg)} characters long; Tencent's "
                                    f"library would crash on fewer than {MIN_ENCRYPT_CHAT_MSG}")
    if b"\0" in encrypt_chat_msg:
        raise error_for_code(10006, call="DecryptData", detail="the encrypted message contains NUL bytes")
    out = lib.NewSlice()
    try:
        rc = lib.DecryptData(random_key, encrypt_chat_msg, out)
        if rc != 0:
            raise error_for_code(rc, call="DecryptData")
        return _take_slice(lib, out)
    finally:
        lib.FreeSlice(out)


_libc_ffi = FFI()
_libc_ffi.cdef("int fflush(void *stream);")
_libc: Any = None  # libc through cffi (its fflush)


def flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (``fflush(NULL)``). Tencent's library prints its
    diagnostics with stdio; when stdout is a pipe they would sit in its buffer until exit. An SDK
    host calls this after each call so the parent reads them at once. A no-op where libc cannot be
    reached this way (Windows)."""
    global _libc
    if os.name != "posix":
        return
    if _libc is None:
        _libc = _libc_ffi.dlopen(None)
    _libc.fflush(_libc_ffi.NULL)


def iter_media_chunks(fetch_chunk: Callable[[bytes, bytes], tuple[bytes, bytes, bool]],
                      sdkfileid: str | bytes) -> Iterator[bytes]:
    """The indexbuf loop of GetMediaData over ``fetch_chunk(indexbuf, fileid) -> (data,
    next_index, finished)``: yields each chunk's bytes until the SDK says finished. Refuses an
    sdkfileid the SDK cannot be asked for (SdkItemError 10005: empty, or with a NUL character) and
    gives up (SdkResponseError 10002) on an SDK that neither finishes nor moves on."""
    if not sdkfileid:
        raise error_for_code(10005, call="GetMediaData", detail="the message names no sdkfileid")
    fileid = sdkfileid.encode("utf-8", "replace") if isinstance(sdkfileid, str) else sdkfileid
    if b"\0" in fileid:
        raise error_for_code(10005, call="GetMediaData", detail="the sdkfileid contains a NUL character")
    indexbuf = b""
    stalls = 0
    while True:
        data, next_index, finished = fetch_chunk(indexbuf, fileid)
        if data:
            yield data
        if finished:
            return
        # An SDK that neither finishes nor moves on would loop for ever: give up after a few.
        stalls = stalls + 1 if (not data or next_index == indexbuf) else 0
        if stalls >= 3 or not next_index:
            raise SdkResponseError(10002, "GetMediaData made no progress", "GetMediaData 没有进展",
                                   call="GetMediaData", detail=f"indexbuf {next_index[:40]!r}")
        indexbuf = next_index


# --------------------------------------------------------------------------- the handle

@compact_pickle
@dataclass(frozen=True, slots=True)
class ChatDataItem:
    """One encrypted archive entry as GetChatData returns it."""

    seq: int
    msgid: str
    publickey_ver: int
    encrypt_random_key: str
    encrypt_chat_msg: str

    def to_json(self) -> str:
        """The item as compact JSON (what the quarantine keeps)."""
        return json.dumps({"seq": self.seq, "msgid": self.msgid, "publickey_ver": self.publickey_ver,
                           "encrypt_random_key": self.encrypt_random_key,
                           "encrypt_chat_msg": self.encrypt_chat_msg}, separators=(",", ":"))


def _printable(text: str, limit: int = 80) -> str:
    """A server's words for an error message: printable characters only, cut short."""
    return "".join(c if c.isprintable() else " " for c in text[:limit]).strip()


def parse_chat_data(payload: bytes) -> list[ChatDataItem]:
    """The items of a GetChatData answer (the server's JSON, passed through by the SDK verbatim).

    Raises SdkResponseError: ``retryable`` for a body that is not JSON (e.g. "Service Unavailable"
    from a proxy or an overloaded server) and for WeCom's "try later" errcodes; not retryable for
    the errcodes that need the administrator (wrong secret, untrusted IP ...), with that sentence.
    """
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        said = _printable(payload[:80].decode("utf-8", "replace"))
        raise SdkResponseError(10002, f"WeCom answered GetChatData with something that is not JSON "
                                      f"({said!r}); the app tries again later",
                               f"企业微信对 GetChatData 的应答不是 JSON（{said!r}），稍后自动重试",
                               call="GetChatData", retryable=True) from None
    if not isinstance(doc, dict):
        raise SdkResponseError(10002, "WeCom answered GetChatData with JSON that is not an object",
                               "企业微信对 GetChatData 的应答不是 JSON 对象", call="GetChatData", retryable=True)
    errcode = doc.get("errcode", 0)
    if errcode != 0:
        from app.core.wecom.errcodes import NEW_TOKEN, TRY_LATER, errcode_info

        code = errcode if isinstance(errcode, int) and not isinstance(errcode, bool) else -1
        errmsg = doc.get("errmsg")
        info = errcode_info(code, _printable(errmsg, 120) if isinstance(errmsg, str) else "")
        raise SdkResponseError(code, info.en, info.zh, call="GetChatData",
                               retryable=info.kind in (TRY_LATER, NEW_TOKEN), new_token=info.kind == NEW_TOKEN)
    items: list[ChatDataItem] = []
    for raw in doc.get("chatdata") or []:
        seq = raw.get("seq") if isinstance(raw, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**64:
            # Without a seq the checkpoint cannot move past the entry safely: fail the batch.
            raise SdkResponseError(10002, "GetChatData returned an item without a valid seq",
                                   "GetChatData 返回的条目缺少有效的 seq", call="GetChatData")
        ver = raw.get("publickey_ver")
        items.append(ChatDataItem(
            seq=seq,
            msgid=_text_field(raw.get("msgid")),
            publickey_ver=ver if isinstance(ver, int) and not isinstance(ver, bool) and 0 <= ver < 2**31 else -1,
            encrypt_random_key=_text_field(raw.get("encrypt_random_key")),
            encrypt_chat_msg=_text_field(raw.get("encrypt_chat_msg")),
        ))
    return items


def _text_field(value: object) -> str:
    """A string field of a GetChatData item: a string as is, a number as its digits, anything
    else (missing, null, a list ...) as "" — the entry then fails to decrypt and is quarantined."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


class FinanceSdk:
    """One SDK handle: ``NewSdk`` + ``Init`` on enter, ``DestroySdk`` exactly once on exit.

    >>> with FinanceSdk(path, corpid, secret) as sdk:
    ...     items = sdk.get_chat_data(0, 1000)

    ``proxy`` (``socks5://host:port`` or ``http://host:port``), ``passwd`` (``user:pass``) and
    ``timeout`` (seconds) are defaults for every call and may be overridden per call.
    """

    def __init__(self, library_path: str | os.PathLike[str], corpid: str, secret: str, *,
                 proxy: str | None = None, passwd: str | None = None, timeout: int = DEFAULT_TIMEOUT,
                 serialize_calls: bool = False) -> None:
        self._library_path = library_path
        self._corpid = corpid
        self._secret = secret
        self.proxy, self.passwd, self.timeout = proxy, passwd, timeout
        self._lib: SdkLibrary | None = None
        self._handle: CData | None = None
        self._state = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._call_lock = threading.Lock() if serialize_calls else None

    # -- lifecycle
    def open(self) -> FinanceSdk:
        with self._state:
            if self._closed:
                raise SdkClosedError("this SDK handle was destroyed; create a new FinanceSdk")
            if self._handle is not None:
                return self
            lib = load_library(self._library_path)
            handle = lib.NewSdk()
            if handle == _ffi.NULL:
                raise SdkResponseError(10003, "NewSdk returned NULL", "NewSdk 返回空指针", call="NewSdk")
            rc = lib.Init(handle, _cstr(self._corpid), _cstr(self._secret))
            if rc != 0:
                lib.DestroySdk(handle)
                raise error_for_code(rc, call="Init", detail="check the corp id and the chat-archive secret")
            self._lib, self._handle = lib, handle
            return self

    def close(self) -> None:
        """DestroySdk once; waits for calls in flight on other threads. Idempotent."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._in_flight:
                self._state.wait()
            if self._lib is not None and self._handle is not None:
                self._lib.DestroySdk(self._handle)
                self._handle = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> FinanceSdk:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A forgotten close must not leak the native handle; a finaliser must never raise.
        with contextlib.suppress(Exception):
            self.close()

    def _begin(self) -> tuple[SdkLibrary, CData]:
        with self._state:
            if self._closed or self._lib is None or self._handle is None:
                raise SdkClosedError("the SDK handle is not open (used after close, or before open)")
            self._in_flight += 1
            return self._lib, self._handle

    def _end(self) -> None:
        with self._state:
            self._in_flight -= 1
            if not self._in_flight:
                self._state.notify_all()

    def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._call_lock is None:
            return fn(*args)
        with self._call_lock:
            return fn(*args)

    # -- calls
    def get_chat_data(self, seq: int, limit: int = MAX_LIMIT, proxy: str | None = None,
                      passwd: str | None = None, timeout: int | None = None) -> list[ChatDataItem]:
        """Encrypted entries with seq > ``seq``, at most ``limit`` (the SDK refuses more than 1000: 10000)."""
        if not 0 <= seq < 2**64:
            raise ValueError(f"seq must be an unsigned 64-bit integer, not {seq}")
        if not 0 <= limit < 2**32:
            raise ValueError(f"limit must be an unsigned 32-bit integer, not {limit}")
        lib, handle = self._begin()
        try:
            out = lib.NewSlice()
            try:
                rc = self._call(lib.GetChatData, handle, seq, limit, _cstr(proxy or self.proxy),
                                _cstr(passwd or self.passwd), timeout or self.timeout, out)
                if rc != 0:
                    raise error_for_code(rc, call="GetChatData")
                payload = _take_slice(lib, out)
            finally:
                lib.FreeSlice(out)
        finally:
            self._end()
        return parse_chat_data(payload)

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str | bytes) -> bytes:
        """DecryptData (no handle needed; see :func:`decrypt_data`)."""
        lib, _ = self._begin()
        try:
            return decrypt_data(lib, random_key, encrypt_chat_msg)
        finally:
            self._end()

    def _media_chunk(self, indexbuf: bytes, sdkfileid: bytes, proxy: bytes, passwd: bytes,
                     timeout: int) -> tuple[bytes, bytes, bool]:
        lib, handle = self._begin()
        try:
            md = lib.NewMediaData()
            try:
                rc = self._call(lib.GetMediaData, handle, indexbuf, sdkfileid, proxy, passwd, timeout, md)
                if rc != 0:
                    raise error_for_code(rc, call="GetMediaData")
                data_len = lib.GetDataLen(md)
                data = _ffi.buffer(lib.GetData(md), data_len)[:] if data_len > 0 else b""
                index_len = lib.GetIndexLen(md)
                next_index = _ffi.buffer(lib.GetOutIndexBuf(md), index_len)[:] if index_len > 0 else b""
                return data, next_index, bool(lib.IsMediaDataFinish(md))
            finally:
                lib.FreeMediaData(md)
        finally:
            self._end()

    def media_chunk(self, indexbuf: bytes, fileid: bytes, proxy: str | None = None, passwd: str | None = None,
                    timeout: int | None = None) -> tuple[bytes, bytes, bool]:
        """One GetMediaData call: (data, next indexbuf, finished)."""
        return self._media_chunk(indexbuf, fileid, _cstr(proxy or self.proxy), _cstr(passwd or self.passwd),
                                 timeout or self.timeout)

    def iter_media(self, sdkfileid: str, proxy: str | None = None, passwd: str | None = None,
                   timeout: int | None = None) -> Iterator[bytes]:
        """The media file's bytes, chunk by chunk (the indexbuf loop); binary-safe.

        A failure raises on the chunk that failed; the caller restarts the file. The handle is
        only held during each C call, so a paused iterator never blocks :meth:`close`.
        """
        proxy_b, passwd_b = _cstr(proxy or self.proxy), _cstr(passwd or self.passwd)
        tmo = timeout or self.timeout
        return iter_media_chunks(lambda index, fileid: self._media_chunk(index, fileid, proxy_b, passwd_b, tmo),
                                 sdkfileid)
