"""Run code against a Finance SDK library in a fresh child process (it may kill its process).

Parent side::

    res = run_child(lib_path, '''
        sdk = new_sdk(b"ww1", b"secret")
        rc, body = chat(sdk, 0, 10, args["proxy"], 5)
        emit(rc=rc, body=body)
    ''', args={"proxy": standin.proxy_url})
    res.returncode, res.signal, res.stdout (bytes, exactly what the child wrote), res.results["rc"]

The child's stdout is left to the library (it prints there); results travel through a JSON file
that is rewritten on every ``emit``, so what was emitted before a crash survives it. Bytes are
emitted as latin-1 strings and come back as bytes (``res.results[...]``). In the child the code
sees ``lib``, ``ffi``, ``args``, ``emit`` and the helpers ``new_sdk``, ``chat``, ``media``,
``media_all`` and ``decrypt`` (defined in ``_child_main``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

HEADER = Path(__file__).resolve().parents[2] / "native" / "include" / "finance_sdk.h"


@dataclass
class ChildResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    results: dict = field(default_factory=dict)

    @property
    def signal(self) -> int | None:
        """The signal that killed the child (SIGABRT for std::terminate / free() aborts), or None."""
        return -self.returncode if self.returncode < 0 else None

    def describe(self) -> str:
        return (f"rc={self.returncode} results={self.results!r}\nstdout={self.stdout[-2000:]!r}\n"
                f"stderr={self.stderr[-2000:].decode('utf-8', 'replace')}")


def run_child(lib_path: str | os.PathLike, code: str, *, env: dict[str, str] | None = None,
              timeout: float = 60, qt_first: bool = False, stdout_tty: bool = False,
              unbuffered: bool = False, args=None) -> ChildResult:
    """Run ``code`` in a new Python process that has loaded the library at ``lib_path`` with cffi.

    ``qt_first`` imports PySide6.QtCore before loading the library. ``stdout_tty`` gives the child
    a pseudo-terminal as stdout instead of a pipe (to see stdio line buffering). ``unbuffered``
    sets PYTHONUNBUFFERED=1, which also makes C stdio's stdout unbuffered; by default it is removed
    from the child's environment, as for an app started normally. ``args`` (JSON-able; bytes
    allowed) is the child's global ``args``.
    """
    with tempfile.TemporaryDirectory(prefix="sdkchild-") as tmp:
        result_path = Path(tmp) / "results.json"
        script = Path(tmp) / "script.py"
        script.write_text(textwrap.dedent(code), encoding="utf-8")
        child_env = {**os.environ, **(env or {}), "SDKCHILD_LIB": str(lib_path),
                     "SDKCHILD_RESULTS": str(result_path), "SDKCHILD_QT_FIRST": "1" if qt_first else "",
                     "SDKCHILD_ARGS": str(Path(tmp) / "args.json")}
        (Path(tmp) / "args.json").write_text(json.dumps(_encode(args)), encoding="utf-8")
        child_env.setdefault("QT_QPA_PLATFORM", "offscreen")
        child_env.pop("PYTHONUNBUFFERED", None)
        if unbuffered:
            child_env["PYTHONUNBUFFERED"] = "1"
        args = [sys.executable, str(Path(__file__).resolve()), str(script)]
        if stdout_tty:
            import pty

            master, slave = pty.openpty()
            try:
                proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        env=child_env)
            finally:
                os.close(slave)
            chunks = []
            try:
                _, err = proc.communicate(timeout=timeout)
            finally:
                while True:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    chunks.append(data)
                os.close(master)
            out = b"".join(chunks)
        else:
            proc = subprocess.run(args, capture_output=True, env=child_env, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
            out, err = proc.stdout, proc.stderr
        results = {}
        if result_path.exists():
            raw = json.loads(result_path.read_text(encoding="utf-8") or "{}")
            results = {k: _decode(v) for k, v in raw.items()}
        return ChildResult(proc.returncode, out, err, results)


def _decode(v):
    if isinstance(v, dict) and set(v) == {"__bytes__"}:
        return v["__bytes__"].encode("latin-1")
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        return {k: _decode(x) for k, x in v.items()}
    return v


def _encode(v):
    if isinstance(v, bytes | bytearray):
        return {"__bytes__": bytes(v).decode("latin-1")}
    if isinstance(v, list | tuple):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    return v


# --------------------------------------------------------------------------- child side

def _child_main(script_path: str) -> None:
    import cffi

    if os.environ.get("SDKCHILD_QT_FIRST"):
        import PySide6.QtCore  # noqa: F401  (on purpose: the real library aborts after Qt)

    results_path = Path(os.environ["SDKCHILD_RESULTS"])
    results: dict = {}

    def emit(**kw) -> None:
        results.update({k: _encode(v) for k, v in kw.items()})
        tmp = results_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(results), encoding="utf-8")
        os.replace(tmp, results_path)

    ffi = cffi.FFI()
    ffi.cdef(HEADER.read_text(encoding="utf-8"))
    emit(stage="dlopen")
    lib = ffi.dlopen(os.environ["SDKCHILD_LIB"])
    emit(stage="loaded")

    def new_sdk(corpid: bytes = b"ww-test", secret: bytes = b"secret"):
        sdk = lib.NewSdk()
        rc = lib.Init(sdk, corpid, secret)
        if rc != 0:
            raise RuntimeError(f"Init returned {rc}")
        return sdk

    def _b(s):
        return s.encode() if isinstance(s, str) else s

    def chat(sdk, seq, limit, proxy=b"", timeout=5, passwd=b""):
        out = lib.NewSlice()
        try:
            rc = lib.GetChatData(sdk, seq, limit, _b(proxy), _b(passwd), timeout, out)
            n = lib.GetSliceLen(out)
            body = ffi.buffer(lib.GetContentFromSlice(out), n)[:] if n > 0 else b""
            return rc, body
        finally:
            lib.FreeSlice(out)

    def media(sdk, indexbuf, sdkfileid, proxy=b"", timeout=5, passwd=b""):
        md = lib.NewMediaData()
        try:
            rc = lib.GetMediaData(sdk, _b(indexbuf), _b(sdkfileid), _b(proxy), _b(passwd), timeout, md)
            n = lib.GetDataLen(md)
            data = ffi.buffer(lib.GetData(md), n)[:] if n > 0 else b""
            m = lib.GetIndexLen(md)
            index = ffi.buffer(lib.GetOutIndexBuf(md), m)[:] if m > 0 else b""
            return rc, data, index, lib.IsMediaDataFinish(md)
        finally:
            lib.FreeMediaData(md)

    def media_all(sdk, sdkfileid, proxy=b"", timeout=5, max_calls=1000):
        """The indexbuf loop; returns (rc, data, calls) with rc of the last call."""
        data, index, calls = b"", b"", []
        for _ in range(max_calls):
            rc, chunk, index2, finish = media(sdk, index, sdkfileid, proxy, timeout)
            calls.append([rc, len(chunk), index2, finish])
            if rc != 0:
                return rc, data, calls
            data += chunk
            if finish:
                return 0, data, calls
            index = index2
        return -1, data, calls

    def decrypt(key, msg):
        out = lib.NewSlice()
        try:
            rc = lib.DecryptData(_b(key), _b(msg), out)
            n = lib.GetSliceLen(out)
            return rc, (ffi.buffer(lib.GetContentFromSlice(out), n)[:] if n > 0 else b"")
        finally:
            lib.FreeSlice(out)

    env = dict(os.environ)
    args = _decode(json.loads(Path(os.environ["SDKCHILD_ARGS"]).read_text(encoding="utf-8")))
    scope = {"args": args, "ffi": ffi, "lib": lib, "emit": emit, "new_sdk": new_sdk, "chat": chat, "media": media,
             "media_all": media_all, "decrypt": decrypt, "env": env, "os": os, "sys": sys, "json": json,
             "signal": signal, "__name__": "__sdkchild__"}
    code = Path(script_path).read_text(encoding="utf-8")
    exec(compile(code, script_path, "exec"), scope)
    emit(stage="done")


if __name__ == "__main__":
    _child_main(sys.argv[1])
