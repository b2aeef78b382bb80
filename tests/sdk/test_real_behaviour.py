"""The simulator behaves like Tencent's real library where the app can tell (tests/reallib/README.md,
"Facts measured"): the same child-process harness and the same probes as
tests/reallib/test_real_library.py, run against the simulator.

What kills its process (loading beside Qt, DecryptData on a short message) is only ever tried in
a child process. native/README.md lists what still differs ("Differences from the real library").
"""

from __future__ import annotations

import importlib.util
import re
import signal
import sys
import time
from pathlib import Path

import pytest


def _load_sdkchild():
    """tests/reallib/sdkchild.py, the harness the real library was measured with (that folder is
    not on sys.path here)."""
    if "sdkchild" in sys.modules:
        return sys.modules["sdkchild"]
    spec = importlib.util.spec_from_file_location("sdkchild", Path(__file__).resolve().parents[1] / "reallib"
                                                  / "sdkchild.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sdkchild"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


sdkchild = _load_sdkchild()

ACCESS_LINE = re.compile(rb"^WeWorkFinanceSdk:access:(?P<body>.*)\xa3\xactime:(?P<time>\d+)\n$", re.S)


@pytest.fixture
def run(simulator_path, tiny_corpus, monkeypatch):
    """run(code, **kw): sdkchild.run_child against the simulator serving the tiny corpus, in a
    process that has not been told it may live beside Qt (tests/sdk/conftest.py tells this one)."""
    monkeypatch.delenv("WECOM_SIM_ALLOW_QT", raising=False)

    def run_child(code: str, **kw):
        return sdkchild.run_child(simulator_path, code, **kw)

    return run_child


# --------------------------------------------------------------------------- loading beside Qt

def test_loading_after_qt_aborts_the_process(run):
    res = run("emit(survived=True)", qt_first=True)
    assert res.signal == signal.SIGABRT, res.describe()
    assert res.results["stage"] == "dlopen"  # it dies inside dlopen, as the real one
    assert res.stderr == b"free(): invalid pointer\n"


def test_loading_after_qt_is_allowed_when_told(run):
    res = run("emit(init=lib.Init(lib.NewSdk(), b'ww1', b's'))", qt_first=True, env={"WECOM_SIM_ALLOW_QT": "1"})
    assert res.returncode == 0, res.describe()
    assert res.results["init"] == 0


def test_loading_before_qt_works(run, tiny_corpus):
    res = run("""
import PySide6.QtCore
sdk = new_sdk(args[0].encode(), args[1].encode())
emit(qt=PySide6.QtCore.qVersion(), chat=chat(sdk, 0, 1)[0])
lib.DestroySdk(sdk)
""", args=[tiny_corpus.corpid, tiny_corpus.secret])
    assert res.returncode == 0, res.describe()
    assert res.results["qt"] and res.results["chat"] == 0


# --------------------------------------------------------------------------- DecryptData

@pytest.mark.parametrize("length", [0, 1, 12])
def test_decrypt_with_a_message_shorter_than_13_kills_the_process(run, length):
    res = run("emit(rc=decrypt(b'k' * 32, b'x' * args)[0])", args=length)
    assert res.signal == signal.SIGABRT, res.describe()
    assert "rc" not in res.results
    assert res.stderr == (b"terminate called after throwing an instance of 'std::out_of_range'\n"
                          b"  what():  basic_string::basic_string: __pos (which is 13) > this->size() "
                          b"(which is %d)\n" % length)


def test_decrypt_null_is_10000_and_13_characters_are_an_answer(run):
    res = run("""
emit(null_key=lib.DecryptData(ffi.NULL, b"x" * 45, lib.NewSlice()),
     null_msg=lib.DecryptData(b"k" * 32, ffi.NULL, lib.NewSlice()),
     null_key_short_msg=lib.DecryptData(ffi.NULL, b"x", lib.NewSlice()),
     empty_key=decrypt(b"", b"x" * 45)[0],
     garbage=[decrypt(b"k" * 32, b"x" * n)[0] for n in (13, 14, 45)])
""")
    assert res.returncode == 0, res.describe()
    r = res.results
    assert r["null_key"] == r["null_msg"] == r["null_key_short_msg"] == 10000
    assert r["empty_key"] == 10008
    # The real library answers 10008 here (its format differs: native/README.md); never a crash.
    assert all(code in (10006, 10008) for code in r["garbage"])


# --------------------------------------------------------------------------- Init, limits, getters

def test_init_checks_only_non_empty_arguments(run):
    res = run("""
n = lib.NewSdk
emit(null_sdk=lib.Init(ffi.NULL, b"a", b"b"), null_corpid=lib.Init(n(), ffi.NULL, b"b"),
     null_secret=lib.Init(n(), b"a", ffi.NULL), empty_corpid=lib.Init(n(), b"", b"b"),
     empty_secret=lib.Init(n(), b"a", b""), any=lib.Init(n(), b"a", b"b"),
     odd=lib.Init(n(), "中文".encode(), b" "))
""")
    assert res.returncode == 0, res.describe()
    r = res.results
    assert [r["null_sdk"], r["null_corpid"], r["null_secret"], r["empty_corpid"], r["empty_secret"]] == [10000] * 5
    assert r["any"] == r["odd"] == 0
    assert res.stdout == res.stderr == b""


def test_limit_0_and_over_1000_are_10000(run, tiny_corpus):
    res = run("""
sdk = new_sdk(args[0].encode(), args[1].encode())
emit(rcs=[chat(sdk, 0, n)[0] for n in (0, 1001, 4294967295)], ok=chat(sdk, 0, 1000)[0],
     null_sdk=lib.GetChatData(ffi.NULL, 0, 10, b"", b"", 5, lib.NewSlice()),
     null_out=lib.GetChatData(sdk, 0, 10, b"", b"", 5, ffi.NULL))
""", args=[tiny_corpus.corpid, tiny_corpus.secret])
    assert res.returncode == 0, res.describe()
    assert res.results["rcs"] == [10000] * 3 and res.results["ok"] == 0
    assert res.results["null_sdk"] == res.results["null_out"] == 10000


def test_getters_on_null_and_fresh_structs(run):
    res = run("""
N = ffi.NULL
md = lib.NewMediaData()
s = lib.NewSlice()
emit(content=ffi.string(lib.GetContentFromSlice(N)), content_is_null=lib.GetContentFromSlice(N) == N,
     slice_len=lib.GetSliceLen(N), index=ffi.string(lib.GetOutIndexBuf(N)), data=ffi.string(lib.GetData(N)),
     index_len=lib.GetIndexLen(N), data_len=lib.GetDataLen(N), finish_null=lib.IsMediaDataFinish(N),
     finish_fresh=lib.IsMediaDataFinish(md), fresh_content=ffi.string(lib.GetContentFromSlice(s)),
     fresh_len=lib.GetSliceLen(s), fresh_data=ffi.string(lib.GetData(md)))
lib.FreeSlice(N); lib.FreeMediaData(N); lib.DestroySdk(N); lib.FreeSlice(s); lib.FreeMediaData(md)
emit(frees="ok")
""")
    assert res.returncode == 0, res.describe()
    r = res.results
    assert (r["content"], r["content_is_null"], r["slice_len"], r["index"], r["data"]) == (b"", False, 0, b"", b"")
    assert (r["index_len"], r["data_len"], r["finish_null"], r["finish_fresh"]) == (0, 0, 1, 0)
    assert (r["fresh_content"], r["fresh_len"], r["fresh_data"], r["frees"]) == (b"", 0, b"", "ok")


# --------------------------------------------------------------------------- wrong credentials

CHAT_CALLS = """
sdk = new_sdk(args["corpid"].encode(), args["secret"].encode())
out = []
for _ in range(args.get("calls", 1)):
    out.append(list(chat(sdk, 0, 10)))
    emit(out=out)
emit(media=list(media(sdk, b"", b"fid-image")))
"""


@pytest.mark.parametrize("corpid, secret, body", [
    (None, "wrong", b'{"errcode":40001,"errmsg":"invalid secret"}'),
    ("wwother", None, b'{"errcode":40013,"errmsg":"invalid corpid"}'),
    ("wwother", "wrong", b'{"errcode":40013,"errmsg":"invalid corpid"}'),
], ids=["secret", "corpid", "both"])
def test_wrong_credentials_are_10001_with_the_gettoken_answer_on_stdout_in_gbk(run, tiny_corpus, corpid, secret,
                                                                               body):
    res = run(CHAT_CALLS, args={"corpid": corpid or tiny_corpus.corpid, "secret": secret or tiny_corpus.secret,
                                "calls": 2})
    assert res.returncode == 0, res.describe()
    assert res.results["out"] == [[10001, b""], [10001, b""]]
    assert res.results["media"] == [10001, b"", b"", 0]
    lines = res.stdout.splitlines(keepends=True)
    assert len(lines) == 3  # not cached: every call asks again and prints again
    for line in lines:
        m = ACCESS_LINE.match(line)
        assert m and m["body"] == body, line
        assert abs(int(m["time"]) - time.time()) < 60
        assert line.decode("gbk") == f'WeWorkFinanceSdk:access:{body.decode()}，time:{m["time"].decode()}\n'
        with pytest.raises(UnicodeDecodeError):
            line.decode("utf-8")
    assert res.stderr == b""


BUFFERING = """
import tempfile
ffi2 = __import__("cffi").FFI(); ffi2.cdef("int fflush(void *);"); C = ffi2.dlopen(None)
f = tempfile.TemporaryFile()
saved = os.dup(1)
os.dup2(f.fileno(), 1)          # stdout is now a regular file (like a pipe: not a terminal)
sdk = new_sdk(args[0].encode(), b"wrong")
rc, _ = chat(sdk, 0, 10)
after_call = os.fstat(1).st_size
C.fflush(ffi2.NULL)
after_fflush = os.fstat(1).st_size
os.dup2(saved, 1)
emit(rc=rc, after_call=after_call, after_fflush=after_fflush)
"""

KILLED = """
sdk = new_sdk(args[0].encode(), b"wrong")
emit(rc=chat(sdk, 0, 10)[0])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_access_line_is_stdio_buffered_unless_stdout_is_a_terminal(run, tiny_corpus):
    line_len = len(b'WeWorkFinanceSdk:access:{"errcode":40001,"errmsg":"invalid secret"}\xa3\xactime:1234567890\n')
    res = run(BUFFERING, args=[tiny_corpus.corpid])
    assert res.returncode == 0, res.describe()
    assert res.results["rc"] == 10001
    assert res.results["after_call"] == 0                      # in stdio's buffer only
    assert abs(res.results["after_fflush"] - line_len) <= 2    # appears at fflush (or exit)

    res = run(KILLED, args=[tiny_corpus.corpid])              # stdout a pipe, process killed
    assert res.signal == signal.SIGKILL and res.results["rc"] == 10001
    assert res.stdout == b""                                   # the buffered line is lost

    res = run(KILLED, args=[tiny_corpus.corpid], stdout_tty=True)
    assert res.signal == signal.SIGKILL
    assert res.stdout.startswith(b"WeWorkFinanceSdk:access:")  # line-buffered on a terminal


# --------------------------------------------------------------------------- scripted WeCom answers

@pytest.mark.parametrize("body", [
    '{"errcode":-1,"errmsg":"system busy"}', '{"errcode":45009,"errmsg":"api freq out of limit"}',
    '{"errcode":42001,"errmsg":"access_token expired"}', "Service Unavailable", "<html>502</html>", "",
    "中文 \u0000 binary",
])
def test_server_answer_is_passed_through_verbatim_with_rc_0(run, tiny_corpus, body):
    tiny_corpus.set_faults([{"kind": "server_answer", "call": "GetChatData", "nth": 2, "times": 2, "body": body}])
    res = run(CHAT_CALLS, args={"corpid": tiny_corpus.corpid, "secret": tiny_corpus.secret, "calls": 4})
    assert res.returncode == 0, res.describe()
    out = res.results["out"]
    assert [rc for rc, _ in out] == [0, 0, 0, 0]
    assert out[1][1] == out[2][1] == body.encode()
    for _, answer in (out[0], out[3]):  # before and after the scripted calls: the corpus
        assert answer.startswith(b'{"errcode":0,"errmsg":"ok","chatdata":[{')


def test_access_error_is_10001_with_its_line(run, tiny_corpus):
    tiny_corpus.set_faults([
        {"kind": "access_error", "call": "GetChatData", "nth": 1, "errcode": 60020,
         "errmsg": "not allow to access from your ip"},
        {"kind": "access_error", "call": "GetMediaData", "nth": 1, "errcode": -1, "errmsg": "系统繁忙"},
    ])
    res = run(CHAT_CALLS, args={"corpid": tiny_corpus.corpid, "secret": tiny_corpus.secret, "calls": 2})
    assert res.returncode == 0, res.describe()
    assert res.results["out"][0] == [10001, b""] and res.results["out"][1][0] == 0
    assert res.results["media"] == [10001, b"", b"", 0]
    bodies = [ACCESS_LINE.match(line)["body"] for line in res.stdout.splitlines(keepends=True)]
    assert bodies == [b'{"errcode":60020,"errmsg":"not allow to access from your ip"}',
                      '{"errcode":-1,"errmsg":"系统繁忙"}'.encode()]


# --------------------------------------------------------------------------- through the app's SDK hosts

def test_the_app_names_a_wrong_secret_and_an_untrusted_ip(simulator_path, tiny_corpus):
    """The app reads the access line in its SDK host and turns 10001 into WeCom's reason."""
    from app.core.sdk import SdkError
    from app.core.sdk.hosted import HostedSdk, LibrarySpec

    library = LibrarySpec(str(simulator_path), {"WECOM_SIM_CORPUS": str(tiny_corpus.path)})
    with HostedSdk(library, tiny_corpus.corpid, "wrong", timeout=5) as sdk, pytest.raises(SdkError) as err:
        sdk.get_chat_data(0, 10)
    assert err.value.code == 40001 and not err.value.retryable and "Secret is wrong" in str(err.value)

    tiny_corpus.set_faults([{"kind": "access_error", "call": "GetChatData", "nth": 1, "errcode": 60020,
                             "errmsg": "not allow to access from your ip"}])
    with HostedSdk(library, tiny_corpus.corpid, tiny_corpus.secret, timeout=5) as sdk:
        with pytest.raises(SdkError) as err:
            sdk.get_chat_data(0, 10)
        assert err.value.code == 60020 and not err.value.retryable and "trusted IP" in str(err.value)
        assert len(sdk.get_chat_data(0, 10)) == len(tiny_corpus.entries)  # the next call counts 2
