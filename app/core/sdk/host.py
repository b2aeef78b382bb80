"""The SDK host: the only kind of process that loads Tencent's Finance SDK library.

Run as ``python -m app.core.sdk.host`` (see :mod:`app.core.processes`) by
:class:`app.core.sdk.hosted.SdkHost`, which is the other half of this protocol. Why a process of
its own: Tencent's library aborts a process that has loaded Qt, and its ``DecryptData`` kills its
process on some inputs. A host that dies costs the entry or file it was working on, never the sync
or the window.

The host answers one request at a time on stdin/stdout (:class:`~app.core.processes.Channel`).
Before anything else it points its own file descriptor 1 at descriptor 2, so whatever the library
prints on stdout (Tencent's ``WeWorkFinanceSdk:access:{...}`` lines, in GBK) and stderr (the
``terminate called ...`` of a crash) reaches the parent through the host's stderr pipe. After each
request it flushes the C library's stdio buffers and writes a marker line ``\\x1e<n>`` on stderr, so
the parent knows it has read all output of request ``n`` before it looks at an error.

Requests are tuples ``(op, *args)``; answers ``("ok", value)`` or ``("error", exception)``:

=========== ============================================== ==========================================
op          arguments                                      answer
=========== ============================================== ==========================================
load        library path, environment (dict)               the library's path
open        corpid, secret, proxy, passwd, timeout         None (NewSdk + Init)
chat        seq, limit                                     list of ChatDataItem
media       indexbuf (bytes), sdkfileid (bytes)            (data, next indexbuf, finished)
keys        {publickey_ver: private key PEM}               the versions loaded
decrypt     list of ChatDataItem                           per item (raw, parsed) or Rejected (sdk/decrypt.py)
exit        —                                              None, then the host exits
=========== ============================================== ==========================================
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

from app.core.processes import Channel, ChannelClosed, apply_niceness

if TYPE_CHECKING:
    from .binding import ChatDataItem, FinanceSdk, SdkLibrary
    from .decrypt import Answer
    from .keys import PrivateKeyRing

MARKER = b"\x1e"


class _Host:
    def __init__(self) -> None:
        self.library_path: str | None = None
        self.lib: SdkLibrary | None = None
        self.sdk: FinanceSdk | None = None
        self.ring: PrivateKeyRing | None = None

    def load(self, path: str, env: dict[str, str]) -> str:
        from .binding import load_library

        os.environ.update(env)
        self.lib = load_library(path)
        self.library_path = path
        return path

    def open(self, corpid: str, secret: str, proxy: str | None, passwd: str | None, timeout: int) -> None:
        from .binding import FinanceSdk

        self._need_library()
        assert self.library_path is not None  # loaded with the library
        if self.sdk is not None:
            self.sdk.close()
        self.sdk = FinanceSdk(self.library_path, corpid, secret, proxy=proxy, passwd=passwd, timeout=timeout).open()

    def chat(self, seq: int, limit: int) -> list[ChatDataItem]:
        return self._need_sdk().get_chat_data(seq, limit)

    def media(self, indexbuf: bytes, fileid: bytes) -> tuple[bytes, bytes, bool]:
        return self._need_sdk().media_chunk(indexbuf, fileid)

    def keys(self, pems: dict[int, str]) -> list[int]:
        from .keys import PrivateKeyRing

        self.ring = PrivateKeyRing.from_pems(pems)
        return sorted(pems)

    def decrypt(self, items: list[ChatDataItem]) -> list[Answer]:
        from .decrypt import decrypt_items

        lib = self._need_library()
        if self.ring is None:
            raise RuntimeError("no private keys were given to this SDK host")
        return decrypt_items(items, self.ring, lib)

    def exit(self) -> None:
        if self.sdk is not None:
            self.sdk.close()
            self.sdk = None

    def _need_library(self) -> SdkLibrary:
        if self.lib is None:
            raise RuntimeError("the SDK host has not loaded a library yet")
        return self.lib

    def _need_sdk(self) -> FinanceSdk:
        if self.sdk is None:
            raise RuntimeError("the SDK host has no open SDK handle")
        return self.sdk


_OPS = {"load", "open", "chat", "media", "keys", "decrypt", "exit"}


def _take_over_stdio() -> Channel:
    """The protocol on the original stdin/stdout; fd 1 then goes to stderr (see the docstring)."""
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(proto_in, proto_out)


def serve(channel: Channel) -> None:
    from .binding import flush_c_stdio

    host = _Host()
    number = 0
    while True:
        try:
            request = channel.receive()
        except ChannelClosed:
            return  # the parent went away: nothing is left to do
        number += 1
        op, args = request[0], request[1:]
        try:
            if op not in _OPS:
                raise ValueError(f"unknown SDK host request {op!r}")
            reply = ("ok", getattr(host, op)(*args))
        except Exception as exc:  # every failure goes back to the parent as the answer
            reply = ("error", exc)
        with contextlib.suppress(Exception):  # the answer matters more than the flush
            flush_c_stdio()
        os.write(2, MARKER + str(number).encode() + b"\n")
        try:
            channel.send(reply)
        except ChannelClosed:
            return
        except Exception as exc:  # an exception that cannot be pickled: send its text instead
            channel.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        if op == "exit":
            return


def main() -> None:
    # Ctrl+C in a terminal reaches the whole process group: the parent decides what it means
    # (the CLI's sync finishes its batch), so the host must not die of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    apply_niceness()
    serve(_take_over_stdio())


if __name__ == "__main__":
    main()
