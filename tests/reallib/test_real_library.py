"""Tencent's real libWeWorkFinanceSdk_C.so (v3, x86-64), pinned down by experiment.

Every test loads the real library in a fresh child process (sdkchild.run_child): it aborts the
process on some inputs, and it aborts when loaded after Qt. Network traffic goes only to the
loopback stand-in (standin.py), passed as the SDK's ``proxy`` argument. README.md beside this
file lists the facts these tests establish.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import realformat as rf
from sdkchild import run_child
from standin import SDKFILEID_RE, Answer, StandIn, encrypt_item

pytestmark = pytest.mark.timeout(180)

ACCESS_LINE = re.compile(rb"^WeWorkFinanceSdk:access:(?P<body>.*)\xa3\xactime:(?P<time>\d+)\n$", re.S)

CHAT_ONCE = """
sdk = new_sdk(args.get("corpid", b"ww-test"), args.get("secret", b"secret"))
out = []
for _ in range(args.get("calls", 1)):
    rc, body = chat(sdk, args.get("seq", 0), args.get("limit", 10), args["proxy"], args.get("timeout", 5),
                    args.get("passwd", b""))
    out.append([rc, body])
    emit(out=out)
"""


def chat_calls(real_sdk, standin, n=1, **kw):
    res = run_child(real_sdk, CHAT_ONCE, args={"proxy": standin.proxy_url, "calls": n, **kw})
    assert res.returncode == 0, res.describe()
    return res, res.results["out"]


# --------------------------------------------------------------------------- loading, process kills

def test_loading_after_qt_aborts_the_process(real_sdk):
    res = run_child(real_sdk, "emit(survived=True)", qt_first=True)
    assert res.signal == signal.SIGABRT, res.describe()
    assert res.results["stage"] == "dlopen"  # it dies inside dlopen
    assert b"free(): invalid pointer" in res.stderr


def test_loading_before_qt_works(real_sdk):
    res = run_child(real_sdk, """
import PySide6.QtCore
sdk = lib.NewSdk()
emit(init=lib.Init(sdk, b"ww1", b"s"))
lib.DestroySdk(sdk)
""")
    assert res.returncode == 0, res.describe()
    assert res.results["init"] == 0


@pytest.mark.parametrize("length", [0, 1, 12])
def test_decrypt_with_a_message_shorter_than_13_kills_the_process(real_sdk, length):
    res = run_child(real_sdk, "emit(rc=decrypt(b'k' * 32, b'x' * args)[0])", args=length)
    assert res.signal == signal.SIGABRT, res.describe()
    assert "rc" not in res.results
    assert b"std::out_of_range" in res.stderr
    assert f"__pos (which is 13) > this->size() (which is {length})".encode() in res.stderr


def test_decrypt_garbage_of_13_or_more_characters_is_10008_and_null_is_10000(real_sdk):
    res = run_child(real_sdk, """
emit(garbage=[decrypt(b"k" * 32, b"x" * n)[0] for n in (13, 14, 45, 200, 5000)],
     empty_key=decrypt(b"", b"x" * 45)[0],
     null_key=lib.DecryptData(ffi.NULL, b"x" * 45, lib.NewSlice()),
     null_msg=lib.DecryptData(b"k" * 32, ffi.NULL, lib.NewSlice()))
""")
    assert res.returncode == 0, res.describe()
    assert res.results["garbage"] == [10008] * 5
    assert res.results["empty_key"] == 10008
    assert res.results["null_key"] == res.results["null_msg"] == 10000


def test_init_checks_only_non_empty_arguments(real_sdk, standin):
    res = run_child(real_sdk, """
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
    assert standin.requests == []  # Init does no network


def test_limit_0_and_over_1000_are_10000_before_any_request(real_sdk, standin):
    res = run_child(real_sdk, """
sdk = new_sdk()
emit(rcs=[chat(sdk, 0, n, args, 5)[0] for n in (0, 1001, 4294967295)],
     null_sdk=lib.GetChatData(ffi.NULL, 0, 10, args.encode(), b"", 5, lib.NewSlice()),
     null_out=lib.GetChatData(sdk, 0, 10, args.encode(), b"", 5, ffi.NULL))
""", args=standin.proxy_url)
    assert res.returncode == 0, res.describe()
    assert res.results["rcs"] == [10000] * 3
    assert res.results["null_sdk"] == res.results["null_out"] == 10000
    assert standin.requests == []
    _, out = chat_calls(real_sdk, standin, 2, limit=1000)
    assert [o[0] for o in out] == [0, 0]  # 1000 is allowed


def test_getters_on_null_and_fresh_structs(real_sdk):
    res = run_child(real_sdk, """
N = ffi.NULL
md = lib.NewMediaData()
s = lib.NewSlice()
emit(content=ffi.string(lib.GetContentFromSlice(N)), content_is_null=lib.GetContentFromSlice(N) == N,
     slice_len=lib.GetSliceLen(N), index=ffi.string(lib.GetOutIndexBuf(N)), data=ffi.string(lib.GetData(N)),
     index_len=lib.GetIndexLen(N), data_len=lib.GetDataLen(N), finish_null=lib.IsMediaDataFinish(N),
     finish_fresh=lib.IsMediaDataFinish(md), fresh_content=ffi.string(lib.GetContentFromSlice(s)),
     fresh_len=lib.GetSliceLen(s))
lib.FreeSlice(N); lib.FreeMediaData(N); lib.DestroySdk(N); lib.FreeSlice(s); lib.FreeMediaData(md)
emit(frees="ok")
""")
    assert res.returncode == 0, res.describe()
    r = res.results
    assert (r["content"], r["content_is_null"], r["slice_len"], r["index"], r["data"]) == (b"", False, 0, b"", b"")
    assert (r["index_len"], r["data_len"], r["finish_null"], r["finish_fresh"]) == (0, 0, 1, 0)
    assert (r["fresh_content"], r["fresh_len"], r["frees"]) == (b"", 0, "ok")


# --------------------------------------------------------------------------- the wire

def test_wire_shape_of_gettoken_and_getchatdata(real_sdk, standin):
    _, out = chat_calls(real_sdk, standin, 2, corpid=b"wwCORP", secret=b"the-secret", seq=7, limit=321)
    assert [o[0] for o in out] == [0, 0]
    assert [r.endpoint for r in standin.requests] == ["connect", "gettoken", "connect", "getchatdata",
                                                       "connect", "getchatdata"]
    connect = standin.requests[0]
    assert (connect.method, connect.target) == ("CONNECT", "qyapi.weixin.qq.com:443")
    tok = standin.calls("gettoken")[0]
    # The secret travels in the URL of a GET (HTTP/1.0).
    assert tok.target == "/cgi-bin/gettoken?corpid=wwCORP&corpsecret=the-secret"
    assert (tok.method, tok.http_version, tok.body) == ("GET", "HTTP/1.0", b"")
    token = standin.calls("getchatdata")[0].query["access_token"]
    for req in standin.calls("getchatdata"):
        assert (req.method, req.http_version) == ("POST", "HTTP/1.0")
        assert req.target == f"/cgi-bin/message/getchatdata?access_token={token}"
        assert req.header("Content-Type") == "application/x-www-form-urlencoded"
        assert req.body == (b'{"seq":7,"limit":321,"version":3,"encrypt_sign":"%s"}'
                            % rf.encrypt_sign(token).encode())


def test_wrong_secret_prints_the_gettoken_answer_on_stdout_in_gbk(real_sdk, standin):
    standin.secret = "right"
    res, out = chat_calls(real_sdk, standin, 2, secret=b"wrong")
    assert [o[0] for o in out] == [10001, 10001]
    assert [o[1] for o in out] == [b"", b""]
    # A failed gettoken is not cached: each call asks again and prints again.
    assert len(standin.calls("gettoken")) == 2 and standin.calls("getchatdata") == []
    lines = res.stdout.splitlines(keepends=True)
    assert len(lines) == 2
    for line in lines:
        m = ACCESS_LINE.match(line)
        assert m, line
        assert m["body"] == b'{"errcode":40001,"errmsg":"invalid secret"}'  # the body, verbatim
        assert abs(int(m["time"]) - time.time()) < 60
        # "，" (U+FF0C) in GBK joins the two parts; the line is not UTF-8.
        assert line.decode("gbk") == f'WeWorkFinanceSdk:access:{m["body"].decode()}，time:{m["time"].decode()}\n'
        with pytest.raises(UnicodeDecodeError):
            line.decode("utf-8")
    assert res.stderr == b""


BUFFERING = """
import tempfile
ffi2 = __import__("cffi").FFI(); ffi2.cdef("int fflush(void *);"); C = ffi2.dlopen(None)
f = tempfile.TemporaryFile()
saved = os.dup(1)
os.dup2(f.fileno(), 1)          # stdout is now a regular file (like a pipe: not a terminal)
sdk = new_sdk(b"ww", b"wrong")
rc, _ = chat(sdk, 0, 10, args, 5)
after_call = os.fstat(1).st_size
C.fflush(ffi2.NULL)
after_fflush = os.fstat(1).st_size
os.dup2(saved, 1)
emit(rc=rc, after_call=after_call, after_fflush=after_fflush)
"""

KILLED = """
sdk = new_sdk(b"ww", b"wrong")
emit(rc=chat(sdk, 0, 10, args, 5)[0])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_access_line_is_stdio_buffered_unless_stdout_is_a_terminal(real_sdk, standin):
    standin.secret = "right"
    line_len = len(b'WeWorkFinanceSdk:access:{"errcode":40001,"errmsg":"invalid secret"}\xa3\xactime:1234567890\n')
    res = run_child(real_sdk, BUFFERING, args=standin.proxy_url)
    assert res.returncode == 0, res.describe()
    assert res.results["rc"] == 10001
    assert res.results["after_call"] == 0                      # printf into stdio's buffer only
    assert abs(res.results["after_fflush"] - line_len) <= 2     # appears at fflush (or exit)

    res = run_child(real_sdk, KILLED, args=standin.proxy_url)  # stdout a pipe, process killed
    assert res.signal == signal.SIGKILL and res.results["rc"] == 10001
    assert res.stdout == b""                                    # the buffered line is lost

    res = run_child(real_sdk, KILLED, args=standin.proxy_url, stdout_tty=True)
    assert res.signal == signal.SIGKILL
    assert res.stdout.startswith(b"WeWorkFinanceSdk:access:")   # line-buffered on a terminal

    # PYTHONUNBUFFERED=1 (or python -u) makes C's stdout unbuffered too.
    res = run_child(real_sdk, BUFFERING, args=standin.proxy_url, unbuffered=True)
    assert abs(res.results["after_call"] - line_len) <= 2


@pytest.mark.parametrize("answer, printed", [
    (Answer.error(40013, "invalid corpid"), b'{"errcode":40013,"errmsg":"invalid corpid"}'),
    (Answer.error(40001, "invalid credential"), b'{"errcode":40001,"errmsg":"invalid credential"}'),
    (Answer.error(60020, "not allow to access from your ip"),
     b'{"errcode":60020,"errmsg":"not allow to access from your ip"}'),
    (Answer.error(41004, "corpsecret missing"), b'{"errcode":41004,"errmsg":"corpsecret missing"}'),
    (Answer.error(301052, "msgaudit not open"), b'{"errcode":301052,"errmsg":"msgaudit not open"}'),
    (Answer.text("Service Unavailable"), b"Service Unavailable"),   # not JSON: no token, printed
    (Answer.http_status(500), None),                                 # non-2xx: not printed
    (Answer.http_status(503), None),
    (Answer(drop=True), None),
], ids=["corpid-40013", "secret-40001", "ip-60020", "41004", "301052", "non-json", "http-500", "http-503",
        "dropped"])
def test_every_gettoken_failure_is_10001_and_only_the_stdout_line_tells_them_apart(real_sdk, standin,
                                                                                 answer, printed):
    standin.gettoken.append(answer)
    res, out = chat_calls(real_sdk, standin)
    assert out == [[10001, b""]]
    if printed is None:
        assert res.stdout == b""
    else:
        m = ACCESS_LINE.match(res.stdout)
        assert m and m["body"] == printed, res.stdout
    assert standin.calls("getchatdata") == []


def test_wrong_secret_also_fails_getmediadata_with_10001(real_sdk, standin):
    standin.secret = "right"
    fid = standin.add_media(b"x" * 100)
    res = run_child(real_sdk, "emit(r=media(new_sdk(b'ww', b'wrong'), b'', args[0], args[1], 5))",
                    args=[fid, standin.proxy_url])
    assert res.results["r"] == [10001, b"", b"", 0]
    assert ACCESS_LINE.match(res.stdout)
    assert standin.calls("getchatmediadata") == []


# --------------------------------------------------------------------------- certificates

@pytest.mark.parametrize("mode", ["ca", "self-signed", "expired"])
def test_any_certificate_for_the_right_host_name_is_accepted(real_sdk, mode):
    with StandIn(cert=mode) as s:
        _, out = chat_calls(real_sdk, s)
        assert out == [[0, b'{"errcode":0,"errmsg":"ok","chatdata":[]}']]


def test_a_certificate_for_another_host_name_is_refused_with_10001(real_sdk):
    with StandIn(cert="wrong-host") as s:
        _, out = chat_calls(real_sdk, s)
        assert out == [[10001, b""]]
        assert [r.endpoint for r in s.requests] == ["connect"]  # no request after the handshake
        assert s.requests[0].tls_error


# --------------------------------------------------------------------------- getchatdata answers

@pytest.mark.parametrize("answer", [
    Answer.error(-1, "system busy"), Answer.error(45009, "api freq out of limit"),
    Answer.error(301052, "msgaudit not open"), Answer.error(301042, "ip not in whitelist"),
    Answer.error(60020, "not allow to access from your ip"), Answer.error(40014, "invalid access_token"),
    Answer.error(42001, "access_token expired"), Answer.text("Service Unavailable"),
    Answer.text("<html>gateway</html>"), Answer(body=b""), Answer(status=204, body=b""),
    Answer.chatdata([{"seq": 1, "unexpected": True}]), Answer(body="中文 ok".encode("gbk")),
], ids=lambda a: a.encoded()[:24].decode("latin-1") or f"empty-{a.status}")
def test_any_2xx_getchatdata_answer_is_passed_through_verbatim_with_rc_0(real_sdk, standin, answer):
    standin.getchatdata.append(answer)
    res, out = chat_calls(real_sdk, standin)
    assert out == [[0, answer.encoded()]]
    assert res.stdout == b""


@pytest.mark.parametrize("answer", [Answer.http_status(500), Answer.http_status(502), Answer.http_status(503),
                                    Answer.http_status(404), Answer.http_status(301), Answer(drop=True)],
                         ids=["500", "502", "503", "404", "301", "dropped"])
def test_non_2xx_or_no_answer_is_10001(real_sdk, standin, answer):
    standin.getchatdata.append(answer)
    _, out = chat_calls(real_sdk, standin)
    assert out == [[10001, b""]]


def test_a_slow_answer_is_10001_after_the_timeout_argument(real_sdk, standin):
    standin.getchatdata.append(Answer(delay=6, body={"errcode": 0}))
    res = run_child(real_sdk, """
sdk = new_sdk()
import time
t = time.monotonic(); rc, _ = chat(sdk, 0, 10, args, 1); emit(rc=rc, took=time.monotonic() - t)
""", args=standin.proxy_url)
    assert res.results["rc"] == 10001
    assert 0.9 <= res.results["took"] < 3


def test_proxy_password_is_sent_as_proxy_authorization(real_sdk):
    with StandIn(proxy_auth=("user", "pa:ss")) as s:
        _, out = chat_calls(real_sdk, s, 1, passwd=b"user:pa:ss")
        assert out[0][0] == 0
        assert s.requests[0].header("Proxy-Authorization") == "Basic " + base64.b64encode(b"user:pa:ss").decode()
        s.reset()
        _, out = chat_calls(real_sdk, s, 1, passwd=b"user:wrong")
        assert out == [[10001, b""]]
        assert s.requests[0].endpoint == "refused"


# --------------------------------------------------------------------------- the token

def test_the_token_is_kept_and_not_refreshed_on_40014_or_42001(real_sdk, standin):
    standin.getchatdata.extend([Answer.error(40014, "invalid access_token"), Answer.error(42001, "expired")])
    _, out = chat_calls(real_sdk, standin, 3)
    assert [o[0] for o in out] == [0, 0, 0]
    assert out[0][1] == b'{"errcode":40014,"errmsg":"invalid access_token"}'
    assert len(standin.calls("gettoken")) == 1
    assert len({r.query["access_token"] for r in standin.calls("getchatdata")}) == 1


def test_token_refetched_only_when_expires_in_has_run_out_and_per_handle(real_sdk):
    with StandIn(token_ttl=1) as s:
        res = run_child(real_sdk, """
import time
a = new_sdk(); b = new_sdk()
out = [chat(a, 0, 10, args, 5)[0], chat(a, 0, 10, args, 5)[0]]
time.sleep(2.2)
out += [chat(a, 0, 10, args, 5)[0], chat(b, 0, 10, args, 5)[0]]
emit(out=out)
""", args=s.proxy_url)
        assert res.results["out"] == [0, 0, 0, 0]
        tokens = [r.query["access_token"] for r in s.calls("getchatdata")]
        assert len(s.calls("gettoken")) == 3          # first, after expiry, and the second handle
        assert tokens[0] == tokens[1] and len(set(tokens)) == 3


def test_gettoken_errcode_is_ignored_when_an_access_token_is_present(real_sdk, standin):
    standin.gettoken.append(Answer.json({"errcode": 40001, "errmsg": "x", "access_token": "tok",
                                         "expires_in": 7200}))
    res, out = chat_calls(real_sdk, standin, 2)
    assert [o[0] for o in out] == [0, 0] and res.stdout == b""
    assert [r.query["access_token"] for r in standin.calls("getchatdata")] == ["tok", "tok"]


def test_an_expired_token_keeps_being_used(real_sdk, standin):
    """42001 from the server does not make the SDK fetch a new token: the app must make a new handle."""
    standin.getchatdata.append(lambda req: (standin.expire_tokens(), Answer.chatdata([]))[1])
    _, out = chat_calls(real_sdk, standin, 3)
    assert out[0] == [0, b'{"errcode":0,"errmsg":"ok","chatdata":[]}']
    assert out[1] == out[2] == [0, b'{"errcode":42001,"errmsg":"access_token expired"}']
    assert len(standin.calls("gettoken")) == 1


# --------------------------------------------------------------------------- media

MEDIA_LOOP = """
sdk = new_sdk()
res = {}
for name, fid in args["ids"].items():
    res[name] = media_all(sdk, fid, args["proxy"], 10)
emit(res=res)
"""


def test_media_round_trip_in_512_kib_ranges(real_sdk, standin):
    files = {"empty": b"", "small": b"hello", "block": bytes(range(16)), "one-chunk": os.urandom(524287),
             "two-exact": os.urandom(2 * 524288 - 1), "big": os.urandom(1_300_000) + b"\0" * 1000}
    ids = {name: standin.add_media(data, authkey=f"auth-{name}") for name, data in files.items()}
    res = run_child(real_sdk, MEDIA_LOOP, args={"ids": ids, "proxy": standin.proxy_url})
    assert res.returncode == 0, res.describe()
    got = res.results["res"]
    for name, data in files.items():
        rc, payload, calls = got[name]
        assert rc == 0 and payload == data, name
        total = rf.encrypted_size(len(data))
        # outindexbuf is the next Range header; empty and is_finish 1 on the last chunk.
        expected, start = [], 0
        while True:
            end = min(start + rf.CHUNK - 1, total - 1)
            last = end + 1 == total
            size = (end - start + 1) - (total - len(data) if last else 0)
            nxt = b"" if last else b"Range:bytes=%d-%d" % (end + 1, min(end + rf.CHUNK, total - 1))
            expected.append([0, size, nxt, 1 if last else 0])
            if last:
                break
            start = end + 1
        assert calls == expected, name
    big = [r for r in standin.calls("getchatmediadata") if r.json()["fileid"] == "standin-file-6"]
    assert [r.header("Range") for r in big] == ["bytes=0-524287", "bytes=524288-1048575",
                                                f"bytes=1048576-{rf.encrypted_size(1_301_000) - 1}"]
    assert big[0].json() == {"fileid": "standin-file-6", "authkey": "auth-big", "version": 3}
    assert big[0].target.startswith("/cgi-bin/message/getchatmediadata?access_token=")
    assert "encrypt_sign" not in big[0].json()


def test_media_indexbuf_is_a_range_header_of_whole_blocks(real_sdk, standin):
    data = os.urandom(3 * 524288)
    fid = standin.add_media(data)
    key = standin.media[b"standin-file-1"][1]
    res = run_child(real_sdk, """
sdk = new_sdk()
emit(r=[list(media(sdk, i, args[0], args[1], 5)) for i in (b"Range:bytes=16-31", b"Range:bytes=100-50",
        b"Range:bytes=0-100", b"Range:bytes=524288-1048575")])
""", args=[fid, standin.proxy_url])
    r = res.results["r"]
    cipher = rf.encrypt_media_range(key, data, 16, 31)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    plain = Cipher(algorithms.AES(key), modes.ECB()).decryptor().update(cipher)
    assert r[0] == [0, plain, b"Range:bytes=32-524319", 0]   # any block-aligned range is taken
    assert r[1][0] == 10000 and r[2][0] == 10000              # b < a, or not whole 16-byte blocks
    assert r[3][0] == 0 and r[3][1] == data[524288:1048576]
    assert [q.header("Range") for q in standin.calls("getchatmediadata")] == ["bytes=16-31",
                                                                               "bytes=524288-1048575"]


@pytest.mark.parametrize("answer, rc", [
    (Answer.error(301042, "ip not in whitelist"), 10009),
    (Answer.error(301048, "sdkfileid expired"), 10010),
    (Answer.error(40007, "invalid media_id"), 10002),
    (Answer.error(-1, "system busy"), 10002),
    (Answer.text("Service Unavailable"), 10003),     # not JSON: parsed as an empty answer
    (Answer.json({"errcode": 0, "errmsg": "ok"}), 10003),                      # no content
    (Answer.json({"errcode": 0, "errmsg": "ok", "content": ""}), 10003),
    (Answer.json({"errcode": 0, "errmsg": "ok", "content": base64.b64encode(b"x" * 17).decode()}), 10006),
    (Answer.http_status(503), 10001),
    (Answer.http_status(404), 10001),
    (Answer(drop=True), 10001),
], ids=["301042", "301048", "40007", "-1", "non-json", "no-content", "empty-content", "not-blocks", "503",
        "404", "dropped"])
def test_media_error_answers(real_sdk, standin, answer, rc):
    fid = standin.add_media(b"x" * 1000)
    standin.getchatmediadata.append(answer)
    res = run_child(real_sdk, "emit(r=media(new_sdk(), b'', args[0], args[1], 5))", args=[fid, standin.proxy_url])
    assert res.returncode == 0, res.describe()
    assert res.results["r"] == [rc, b"", b"", 0]


def test_sdkfileid_is_decoded_locally(real_sdk, standin):
    no_aeskey = base64.b64encode(rf._pb_bytes(1, b"standin-file-1") + rf._pb_bytes(2, b"")).decode()
    standin.add_media(b"x" * 1000)
    res = run_child(real_sdk, """
sdk = new_sdk()
emit(r=[media(sdk, b"", fid, args["proxy"], 5)[0] for fid in args["ids"]])
""", args={"proxy": standin.proxy_url, "ids": ["garbage", "", "!!!!", no_aeskey]})
    assert res.results["r"] == [10005, 10000, 10005, 10006]
    # Only the id without an aeskey reached the server (the key is only needed to decrypt).
    assert [r.json()["fileid"] for r in standin.calls("getchatmediadata")] == ["standin-file-1"]


def test_media_header_is_matched_case_sensitively(real_sdk, standin):
    """A standard-cased ``Content-Range: bytes …`` is not seen: the first chunk counts as the last
    (its "padding" stripped), so the file comes back truncated with rc 0."""
    data = bytearray(os.urandom(600_000))
    data[524287] = 5   # the last byte of the first chunk, read as a PKCS#7 pad length
    data = bytes(data)
    fid = standin.add_media(data)
    key = standin.media[b"standin-file-1"][1]
    total = rf.encrypted_size(len(data))
    standin.getchatmediadata.append(Answer(body=rf.media_body(rf.encrypt_media_range(key, data, 0, 524287)),
                                           headers={"Content-Range": f"bytes 0-524287/{total}"}))
    res = run_child(real_sdk, "emit(r=media(new_sdk(), b'', args[0], args[1], 5))", args=[fid, standin.proxy_url])
    assert res.results["r"] == [0, data[:524288 - 5], b"", 1]


# --------------------------------------------------------------------------- our generated formats

def test_decrypt_round_trips_generated_messages(real_sdk):
    plaintexts = [b"", b"{}", b'{"msgid":"1","text":{"content":"\xe4\xbd\xa0\xe5\xa5\xbd \\u2028 \xf0\xa0\xae\xb7"}}',
                  bytes(range(1, 256)), os.urandom(1000).replace(b"\0", b"\1"), b"x" * 15, b"y" * 16,
                  ("长" * 300_000).encode()]
    cases = []
    for p in plaintexts:
        key = rf.new_random_key()
        cases.append([key, rf.encrypt_chat_msg(key, p)])
    res = run_child(real_sdk, "emit(out=[decrypt(k, m) for k, m in args])", args=cases)
    assert res.returncode == 0, res.describe()
    assert res.results["out"] == [[0, p] for p in plaintexts]


def test_decrypt_error_codes_for_generated_messages(real_sdk):
    key, other = rf.new_random_key(), rf.new_random_key()
    msg = rf.encrypt_chat_msg(key, b'{"a":1}')
    info = rf.key_info(key)
    zero_s = rf.wrap_random_key(rf.KeyInfo(info.k1, info.pre_len, 0, info.end_len).encode())
    junk = rf.wrap_random_key(b"\xff\xff\xff not a protobuf")
    long_pre = rf.wrap_random_key(rf.KeyInfo(info.k1, 10_000, 5, 0).encode())
    wrong_k1 = rf.wrap_random_key(rf.KeyInfo(b"K" * 32, info.pre_len, info.s_len, info.end_len).encode())

    def with_wrap(k, m):  # the same message, its header pointing at key k
        return m[:13] + rf.wrap_key(k).decode() + m[45:]

    cases = [[other, msg], [zero_s, with_wrap(zero_s, msg)], [junk, with_wrap(junk, msg)],
             [long_pre, with_wrap(long_pre, msg)], [wrong_k1, with_wrap(wrong_k1, msg)],
             [key, rf.corrupt_chat_msg(key, msg)]]
    res = run_child(real_sdk, "emit(out=[decrypt(k, m)[0] for k, m in args])", args=cases)
    assert res.results["out"] == [10008, 10005, 10005, 10005, 10006, 10006]


def test_a_key_whose_split_lies_past_the_end_kills_the_process(real_sdk):
    key = rf.wrap_random_key(rf.KeyInfo(b"k" * 32, pre_len=40, s_len=20, end_len=0).encode())
    msg = b"H" * 13 + rf.wrap_key(key) + b"j" * 50      # 2*s_len < len, but s_len > what is left
    res = run_child(real_sdk, "emit(rc=decrypt(args[0], args[1])[0])", args=[key, msg])
    assert res.signal == signal.SIGABRT, res.describe()
    assert b"basic_string::erase" in res.stderr


def test_generated_media_formats_are_consistent():
    data = os.urandom(70_000)
    key = os.urandom(16)
    whole = rf.encrypt_media(key, data)
    assert len(whole) == rf.encrypted_size(len(data))
    for a, b in [(0, 15), (16, 524287), (69_984, 70_015), (32, 10**9)]:
        assert rf.encrypt_media_range(key, data, a, b) == whole[a:b + 1]
    fid = rf.make_sdkfileid("file-1", key, "auth")
    parsed = rf.parse_sdkfileid(fid)
    assert (parsed.fileid, parsed.authkey, parsed.key) == (b"file-1", b"auth", key)
    corpus_like = base64.b64encode(rf._pb_bytes(1, b"3069abc") + rf._pb_bytes(2, b"dGFpbA==")).decode()
    real = rf.parse_sdkfileid(rf.add_aeskey(corpus_like, key))
    assert rf.original_sdkfileid(real.fileid, real.authkey) == corpus_like and real.key == key
    assert rf.encrypt_sign("") == "0"


# --------------------------------------------------------------------------- a corpus through the real library

SYNC = """
import base64
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
keys = {int(v): serialization.load_pem_private_key(open(p, "rb").read(), None) for v, p in args["keys"].items()}
sdk = new_sdk(args["corpid"].encode(), args["secret"].encode())
seq, plain, rcs = 0, {}, {}
while True:
    rc, body = chat(sdk, seq, 40, args["proxy"], 10)
    assert rc == 0, rc
    items = json.loads(body)["chatdata"]
    if not items:
        break
    for it in items:
        rk = keys[it["publickey_ver"]].decrypt(base64.b64decode(it["encrypt_random_key"]), padding.PKCS1v15())
        rc, text = decrypt(rk, it["encrypt_chat_msg"])
        rcs[it["seq"]] = rc
        plain[it["seq"]] = text
        seq = it["seq"]
emit(plain={str(k): v for k, v in plain.items()}, rcs={str(k): v for k, v in rcs.items()})
media = {}
for fid in args["fileids"]:
    media[fid] = media_all(sdk, fid, args["proxy"], 10)[:2]
emit(media=media)
"""


def test_a_generated_corpus_syncs_through_the_real_library(real_sdk, tmp_path):
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, "-m", "native.corpus", "--out", str(corpus), "--messages", "150",
                    "--seed", "5", "--media-pool", "6"], check=True, capture_output=True,
                   cwd=Path(__file__).resolve().parents[2])
    cfg = json.loads((corpus / "corpus.json").read_text())
    from native.corpus import read_entries

    seqs = [e.seq for e in read_entries(corpus)]
    media_index = json.loads((corpus / "media.json").read_text())
    expired_id = next(iter(media_index))
    cfg["faults"] = [{"kind": "corrupt_ciphertext", "seq": seqs[3]},
                     {"kind": "malformed_json", "seq": seqs[4]},
                     {"kind": "media_expired", "sdkfileid": expired_id}]
    (corpus / "corpus.json").write_text(json.dumps(cfg))

    with StandIn() as s:
        src = s.serve_corpus(corpus)
        fileids = list(media_index)[:4]
        real_ids = [src.real_sdkfileid(f) for f in fileids]
        res = run_child(real_sdk, SYNC, timeout=120, args={
            "proxy": s.proxy_url, "corpid": cfg["corpid"], "secret": cfg["secret"], "fileids": real_ids,
            "keys": {v: str(corpus / k["private"]) for v, k in cfg["keys"].items()}})
        assert res.returncode == 0, res.describe()
        plain, rcs = res.results["plain"], res.results["rcs"]
        assert len(plain) == len(src) == 150
        for e in src.entries:
            want_rc = 10006 if e.seq == seqs[3] else 0
            assert rcs[str(e.seq)] == want_rc, e.seq
            if want_rc == 0:
                assert plain[str(e.seq)] == src.plaintext(e.raw_msg, e.seq), e.seq
        # Outside the faults, the plaintext is the corpus line with real-format sdkfileids.
        assert plain[str(seqs[5])] != b"" and json.loads(plain[str(seqs[5])])
        for original, real in zip(fileids, real_ids, strict=True):
            rc, data = res.results["media"][real]
            if original == expired_id:
                assert (rc, data) == (10010, b"")
            else:
                assert rc == 0 and data == (corpus / media_index[original]).read_bytes()
        # Every sdkfileid in the served plaintexts carries an aeskey (the corpus ids do not).
        served = [m[1] for m in SDKFILEID_RE.findall(b"".join(plain.values()))]
        assert served and all(rf.parse_sdkfileid(f).aeskey for f in served)
        assert not any(rf.parse_sdkfileid(f).aeskey for f in media_index)


APP_SYNC = """
from app.core.sdk import FinanceSdk, PrivateKeyRing, decrypt_random_key
ring = PrivateKeyRing.from_pems({v: open(p, "rb").read() for v, p in args["keys"].items()})
plain, seq = {}, 0
with FinanceSdk(os.environ["SDKCHILD_LIB"], args["corpid"], args["secret"], proxy=args["proxy"], timeout=10) as sdk:
    while items := sdk.get_chat_data(seq, 100):
        for it in items:
            plain[str(it.seq)] = sdk.decrypt(decrypt_random_key(it, ring), it.encrypt_chat_msg)
            seq = it.seq
    media = {f: b"".join(sdk.iter_media(f)) for f in args["fileids"]}
emit(plain=plain, media=media)
"""


def test_the_apps_binding_syncs_a_corpus_through_the_real_library(real_sdk, tmp_path):
    """The app's own binding (FinanceSdk, PrivateKeyRing) against the real library and the stand-in."""
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, "-m", "native.corpus", "--out", str(corpus), "--messages", "120",
                    "--seed", "9", "--media-pool", "4"], check=True, capture_output=True,
                   cwd=Path(__file__).resolve().parents[2])
    cfg = json.loads((corpus / "corpus.json").read_text())
    media_index = json.loads((corpus / "media.json").read_text())
    with StandIn() as s:
        src = s.serve_corpus(corpus)
        fileids = {src.real_sdkfileid(f): f for f in list(media_index)[:3]}
        res = run_child(real_sdk, APP_SYNC, timeout=120, args={
            "proxy": s.proxy_url, "corpid": cfg["corpid"], "secret": cfg["secret"], "fileids": list(fileids),
            "keys": {v: str(corpus / k["private"]) for v, k in cfg["keys"].items()}})
        assert res.returncode == 0, res.describe()
        assert res.results["plain"] == {str(e.seq): src.plaintext(e.raw_msg, e.seq) for e in src.entries}
        for real, original in fileids.items():
            assert res.results["media"][real] == (corpus / media_index[original]).read_bytes()


# --------------------------------------------------------------------------- the downloader (offline)

def test_downloader_verifies_caches_and_refetches_a_tampered_copy(real_sdk, tmp_path, monkeypatch):
    import io
    import zipfile

    import real_sdk as rs

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(rs.MEMBER, real_sdk.read_bytes())
    downloads = []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(rs, "_download_wheel", lambda: downloads.append(1) or buf.getvalue())
    path = rs.fetch_real_sdk()
    assert path.parent.parent == tmp_path / "wecom-auditor-tests" and path.read_bytes() == real_sdk.read_bytes()
    assert rs.fetch_real_sdk() == path and len(downloads) == 1          # cached
    path.write_bytes(b"tampered")
    assert rs.fetch_real_sdk() == path and len(downloads) == 2          # hash checked again, refetched
    assert path.read_bytes() == real_sdk.read_bytes()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]

    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr(rs.MEMBER, b"not the library")
    path.unlink()
    monkeypatch.setattr(rs, "_download_wheel", lambda: other.getvalue())
    with pytest.raises(rs.RealSdkUnavailable, match="SHA-256"):
        rs.fetch_real_sdk()
    assert not path.exists()


def test_downloader_checks_the_wheel_hash_and_skips_or_fails(tmp_path, monkeypatch):
    import real_sdk as rs

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(rs, "_http_get", lambda url, accept=None: b"not a wheel")
    monkeypatch.setattr(rs, "_wheel_url_from_json_api", lambda: "https://example.invalid/x.whl")
    monkeypatch.setattr(rs, "_wheel_url_from_simple_api", lambda: "https://example.invalid/x.whl")
    monkeypatch.setattr(rs, "_wheel_by_pip", lambda: (_ for _ in ()).throw(rs.RealSdkUnavailable("no pip")))
    with pytest.raises(rs.RealSdkUnavailable, match="wheel SHA-256"):
        rs.fetch_real_sdk()
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unavailable"):
        rs.real_sdk_library()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needed in CI"):
        rs.real_sdk_library()


# --------------------------------------------------------------------------- the stand-in itself

def test_standin_for_a_python_https_client(standin):
    import requests

    url = "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww&corpsecret=s"
    proxies = {"https": standin.proxy_url, "http": standin.proxy_url}
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, proxies=proxies, timeout=10)                       # CA not trusted
    r = requests.get(url, proxies=proxies, timeout=10, verify=str(standin.ca_pem))
    assert r.status_code == 200 and r.json()["errcode"] == 0 and r.json()["access_token"]
    standin.gettoken.append(Answer.error(60020, "not allow to access from your ip"))
    assert requests.get(url, proxies=proxies, timeout=10, verify=str(standin.ca_pem)).json()["errcode"] == 60020
    r = requests.get("http://qyapi.weixin.qq.com/cgi-bin/gettoken", proxies=proxies, timeout=10)
    assert r.status_code == 403 and "plain HTTP proxying is refused" in r.text
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", proxies=proxies, timeout=10)
    assert [q.endpoint for q in standin.requests].count("refused") == 2
    assert standin.calls("gettoken")[0].query == {"corpid": "ww", "corpsecret": "s"}


def test_standin_as_a_subprocess_with_its_control_api(tmp_path):
    import requests

    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("standin.py")), "--secret", "s"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        proxy, ca = info["proxy"], info["ca_pem"]
        requests.post(f"{proxy}/_standin/script/gettoken", json={"body": {"errcode": 40013, "errmsg": "x"}},
                      timeout=10).raise_for_status()
        url = "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww&corpsecret=s"
        got = [requests.get(url, proxies={"https": proxy}, verify=ca, timeout=10).json()["errcode"] for _ in range(2)]
        assert got == [40013, 0]
        log = requests.get(f"{proxy}/_standin/requests", timeout=10).json()
        assert [r["endpoint"] for r in log] == ["connect", "gettoken", "connect", "gettoken"]
    finally:
        proc.stdin.close()   # the stand-in stops when its stdin closes
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_encrypt_item_matches_the_documented_item_shape():
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    item = encrypt_item(9, "m9", 2, key.public_key(), b'{"x":1}')
    assert set(item) == {"seq", "msgid", "publickey_ver", "encrypt_random_key", "encrypt_chat_msg"}
    from cryptography.hazmat.primitives.asymmetric import padding
    rk = key.decrypt(base64.b64decode(item["encrypt_random_key"]), padding.PKCS1v15())
    assert rf.decrypt_chat_msg(rk, item["encrypt_chat_msg"]) == b'{"x":1}'
