"""The cffi binding against the built simulator: every function, errors, threads, loading."""

from __future__ import annotations

import json
import re
import shutil
import threading

import pytest
from corpus_kit import run_isolated

from app.core.sdk import (
    FinanceSdk,
    MediaExpiredError,
    PrivateKeyRing,
    SdkClosedError,
    SdkConfigError,
    SdkItemError,
    SdkLoadError,
    SdkRetryableError,
    UnknownKeyVersionError,
    decrypt_random_key,
)


@pytest.fixture
def keyring(tiny_corpus):
    return PrivateKeyRing.from_pems({v: priv for v, (priv, _) in tiny_corpus.keys.items()})


@pytest.fixture
def sdk(simulator_path, tiny_corpus):
    with FinanceSdk(simulator_path, tiny_corpus.corpid, tiny_corpus.secret, timeout=5) as handle:
        yield handle


def test_chat_data_round_trips_every_entry_byte_exactly(sdk, keyring, tiny_corpus):
    items = sdk.get_chat_data(0, 1000)
    assert [(i.seq, i.msgid, i.publickey_ver) for i in items] == [
        (seq, msgid, ver) for seq, msgid, ver, _ in tiny_corpus.entries]
    for item, (_, _, _, raw) in zip(items, tiny_corpus.entries, strict=True):
        plain = sdk.decrypt(decrypt_random_key(item, keyring), item.encrypt_chat_msg)
        assert plain == raw


def test_random_key_is_fresh_on_every_call(sdk):
    first = sdk.get_chat_data(0, 1)[0]
    second = sdk.get_chat_data(0, 1)[0]
    assert first.encrypt_random_key != second.encrypt_random_key
    assert first.encrypt_chat_msg != second.encrypt_chat_msg


def test_seq_and_limit_select_entries(sdk, tiny_corpus):
    seqs = [e[0] for e in tiny_corpus.entries]
    assert [i.seq for i in sdk.get_chat_data(seqs[1], 2)] == seqs[2:4]
    assert [i.seq for i in sdk.get_chat_data(3, 1000)] == [s for s in seqs if s > 3]  # inside a gap
    assert sdk.get_chat_data(seqs[-1], 1000) == []


def test_limit_0_or_over_1000_is_a_parameter_error(sdk):
    for limit in (0, 1001):  # as Tencent's library: 10000 before any request
        with pytest.raises(SdkConfigError) as err:
            sdk.get_chat_data(0, limit)
        assert err.value.code == 10000 and not err.value.retryable


def test_wrong_secret_or_corpid_fails_the_first_call_not_init(simulator_path, tiny_corpus, capfdbinary):
    """As Tencent's library: Init accepts any non-empty corpid and secret; each GetChatData and
    GetMediaData then fails with 10001 and prints WeCom's gettoken answer on stdout (with a GBK "，")."""
    from app.core.sdk.binding import flush_c_stdio
    from app.core.sdk.hosted import access_errcode

    for corpid, secret, errcode in [(tiny_corpus.corpid, "wrong", 40001), ("wwother", tiny_corpus.secret, 40013)]:
        capfdbinary.readouterr()
        with FinanceSdk(simulator_path, corpid, secret) as sdk:
            with pytest.raises(SdkRetryableError) as err:
                sdk.get_chat_data(0, 10)
            assert err.value.code == 10001
            with pytest.raises(SdkRetryableError) as err:
                list(sdk.iter_media("fid-image"))
            assert err.value.code == 10001
        flush_c_stdio()
        lines = capfdbinary.readouterr().out.splitlines(keepends=True)
        assert len(lines) == 2, lines
        for line in lines:
            assert re.fullmatch(rb'WeWorkFinanceSdk:access:\{"errcode":%d,"errmsg":"invalid (corpid|secret)"\}'
                                rb"\xa3\xactime:\d+\n" % errcode, line), line
        assert access_errcode(lines)[0] == errcode
    for corpid, secret in [(tiny_corpus.corpid, ""), ("", tiny_corpus.secret)]:
        with pytest.raises(SdkConfigError) as err, FinanceSdk(simulator_path, corpid, secret):
            pass
        assert err.value.code == 10000 and "Init" in str(err.value)


def test_missing_corpus_fails_init_clearly(simulator_path, tiny_corpus, monkeypatch, capfd):
    monkeypatch.setenv("WECOM_SIM_CORPUS", str(tiny_corpus.path / "nowhere"))
    with pytest.raises(SdkConfigError), FinanceSdk(simulator_path, tiny_corpus.corpid, tiny_corpus.secret):
        pass
    assert "nowhere" in capfd.readouterr().err


def test_use_after_close_raises_and_close_is_idempotent(simulator_path, tiny_corpus):
    sdk = FinanceSdk(simulator_path, tiny_corpus.corpid, tiny_corpus.secret)
    with pytest.raises(SdkClosedError):
        sdk.get_chat_data(0, 1)  # before open
    with sdk:
        assert sdk.get_chat_data(0, 1)
    assert sdk.closed
    sdk.close()
    with pytest.raises(SdkClosedError):
        sdk.get_chat_data(0, 1)
    with pytest.raises(SdkClosedError):
        list(sdk.iter_media("fid-image"))
    with pytest.raises(SdkClosedError):
        sdk.decrypt(b"k" * 32, "x")
    with pytest.raises(SdkClosedError):
        sdk.open()


def test_iter_media_reassembles_binary_files(sdk, tiny_corpus):
    for fid, data in tiny_corpus.media.items():
        chunks = list(sdk.iter_media(fid))
        assert b"".join(chunks) == data
        assert all(0 < len(c) <= 512 * 1024 for c in chunks)
    assert len(list(sdk.iter_media("fid-nul"))) == 4  # 1.5 MB + 17 bytes of NULs: 4 chunks


def test_media_errors(sdk):
    with pytest.raises(SdkItemError) as err:
        list(sdk.iter_media("no-such-file"))
    assert err.value.code == 10005


def test_decrypt_with_wrong_material_is_an_item_error(sdk, keyring):
    item = sdk.get_chat_data(0, 1)[0]
    with pytest.raises(SdkItemError):
        sdk.decrypt(b"short", item.encrypt_chat_msg)
    with pytest.raises(SdkItemError):
        sdk.decrypt(b"A" * 32, item.encrypt_chat_msg)  # right length, wrong key: tag fails
    with pytest.raises(SdkItemError):
        sdk.decrypt(decrypt_random_key(item, keyring), "not base64 !!")
    # a key of the wrong version decrypts to garbage (implicit rejection), never to the message
    wrong = PrivateKeyRing({1: keyring.get(2)})
    try:
        key = decrypt_random_key(item, wrong)
    except Exception as exc:  # RSA may also reject outright
        assert "RSA" in str(exc)
    else:
        with pytest.raises(SdkItemError):
            sdk.decrypt(key, item.encrypt_chat_msg)


def test_unknown_key_version_names_the_version(sdk, keyring):
    item = sdk.get_chat_data(0, 1)[0]
    only_v2 = PrivateKeyRing({2: keyring.get(2)})
    with pytest.raises(UnknownKeyVersionError, match="publickey_ver 1") as err:
        decrypt_random_key(item, only_v2)
    assert err.value.version == 1


# ---------------------------------------------------------------- faults (fresh process each)

def test_call_error_fault_counts_per_process(tiny_corpus):
    tiny_corpus.set_faults([
        {"kind": "call_error", "call": "GetChatData", "nth": 2, "code": 10001, "times": 2},
        {"kind": "call_error", "call": "GetMediaData", "nth": 1, "code": 10003},
    ])
    result = run_isolated("""
        from app.core.sdk import FinanceSdk, SdkError
        outcomes = []
        with FinanceSdk(sim, CORPID, SECRET) as sdk:
            for _ in range(5):
                try:
                    outcomes.append(len(sdk.get_chat_data(0, 2)))
                except SdkError as exc:
                    outcomes.append([exc.code, exc.retryable])
            media = []
            for _ in range(2):
                try:
                    media.append(len(b"".join(sdk.iter_media("fid-image"))))
                except SdkError as exc:
                    media.append([exc.code, exc.retryable])
        result = {"chat": outcomes, "media": media}
    """, tiny_corpus.path)
    assert result["chat"] == [2, [10001, True], [10001, True], 2, 2]
    assert result["media"] == [[10003, True], len(tiny_corpus.media["fid-image"])]


def test_call_timeout_fault_blocks_for_the_timeout(tiny_corpus):
    tiny_corpus.set_faults([{"kind": "call_timeout", "call": "GetChatData", "nth": 1},
                            {"kind": "call_timeout", "call": "GetMediaData", "nth": 2}])
    result = run_isolated("""
        import time
        from app.core.sdk import FinanceSdk, SdkError
        out = []
        with FinanceSdk(sim, CORPID, SECRET) as sdk:
            t = time.monotonic()
            try:
                sdk.get_chat_data(0, 10, timeout=2)
            except SdkError as exc:
                out.append([exc.code, exc.retryable, time.monotonic() - t])
            out.append(len(sdk.get_chat_data(0, 10, timeout=2)))
            t = time.monotonic()
            try:
                list(sdk.iter_media("fid-nul", timeout=1))  # chunk 2 is the 2nd GetMediaData call
            except SdkError as exc:
                out.append([exc.code, time.monotonic() - t])
        result = out
    """, tiny_corpus.path)
    code, retryable, waited = result[0]
    assert (code, retryable) == (10001, True) and 1.9 <= waited < 10
    assert result[1] == len(tiny_corpus.entries)
    assert result[2][0] == 10001 and 0.9 <= result[2][1] < 10


def test_entry_and_media_faults(tiny_corpus, keyring):
    tiny_corpus.set_faults([
        {"kind": "corrupt_ciphertext", "seq": 1},
        {"kind": "malformed_json", "seq": 2},
        {"kind": "media_expired", "sdkfileid": "fid-image"},
    ])
    pems = {v: priv.decode() for v, (priv, _) in tiny_corpus.keys.items()}
    result = run_isolated(f"""
        from app.core.sdk import FinanceSdk, PrivateKeyRing, SdkError, decrypt_random_key
        ring = PrivateKeyRing.from_pems({pems!r})
        out = {{}}
        with FinanceSdk(sim, CORPID, SECRET) as sdk:
            for item in sdk.get_chat_data(0, 3):
                try:
                    plain = sdk.decrypt(decrypt_random_key(item, ring), item.encrypt_chat_msg)
                    try:
                        json.loads(plain)
                        out[item.seq] = "ok"
                    except ValueError:
                        out[item.seq] = "bad json"
                except SdkError as exc:
                    out[item.seq] = [exc.code, type(exc).__name__]
            try:
                list(sdk.iter_media("fid-image"))
            except SdkError as exc:
                out["media"] = [exc.code, type(exc).__name__, exc.retryable]
            out["other media"] = len(b"".join(sdk.iter_media("fid-nul")))
        result = out
    """, tiny_corpus.path)
    assert result["1"] == [10006, "SdkItemError"]
    assert result["2"] == "bad json"
    assert result["7"] == "ok"
    assert result["media"] == [10010, "MediaExpiredError", False]
    assert result["other media"] == len(tiny_corpus.media["fid-nul"])


def test_media_expired_exception_type():
    from app.core.sdk.errors import error_for_code

    assert isinstance(error_for_code(10010), MediaExpiredError)


# ---------------------------------------------------------------- threads

def test_four_threads_share_one_handle(sdk, keyring, tiny_corpus):
    errors: list[BaseException] = []
    expected = [raw for *_, raw in tiny_corpus.entries]

    def work(n):
        try:
            for _ in range(25):
                items = sdk.get_chat_data(0, 1000)
                plains = [sdk.decrypt(decrypt_random_key(i, keyring), i.encrypt_chat_msg) for i in items]
                assert plains == expected
                fid = ["fid-image", "fid-nul", "fid-empty"][n % 3]
                assert b"".join(sdk.iter_media(fid)) == tiny_corpus.media[fid]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_serialized_handle_works_from_threads(simulator_path, tiny_corpus):
    counts = []
    with FinanceSdk(simulator_path, tiny_corpus.corpid, tiny_corpus.secret, serialize_calls=True) as sdk:
        threads = [threading.Thread(target=lambda: counts.append(len(sdk.get_chat_data(0, 1000))))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert counts == [len(tiny_corpus.entries)] * 4


def test_close_waits_for_a_call_in_flight(tiny_corpus):
    tiny_corpus.set_faults([{"kind": "call_timeout", "call": "GetChatData", "nth": 1}])
    result = run_isolated("""
        import threading, time
        from app.core.sdk import FinanceSdk, SdkError, SdkClosedError
        sdk = FinanceSdk(sim, CORPID, SECRET).open()
        seen = []
        def slow():
            try:
                sdk.get_chat_data(0, 1, timeout=1)
            except SdkError as exc:
                seen.append(exc.code)
        t = threading.Thread(target=slow); t.start()
        time.sleep(0.3)
        start = time.monotonic(); sdk.close(); waited = time.monotonic() - start
        t.join()
        try:
            sdk.get_chat_data(0, 1)
        except SdkClosedError:
            seen.append("closed")
        result = [seen, waited]
    """, tiny_corpus.path)
    assert result[0] == [10001, "closed"]
    assert result[1] > 0.4  # close() waited for the blocked call instead of destroying under it


# ---------------------------------------------------------------- loading

def test_missing_library_names_the_path(tmp_path):
    missing = tmp_path / "libWeWorkFinanceSdk_C.so"
    with pytest.raises(SdkLoadError, match="does not exist") as err:
        FinanceSdk(missing, "c", "s").open()
    assert str(missing) in str(err.value)


def test_text_file_is_not_a_library(tmp_path):
    bogus = tmp_path / "notes.so"
    bogus.write_text("hello")
    with pytest.raises(SdkLoadError, match="not a shared library") as err:
        FinanceSdk(bogus, "c", "s").open()
    assert str(bogus) in str(err.value) and "Traceback" not in str(err.value)


def test_windows_dll_is_named(tmp_path):
    dll = tmp_path / "WeWorkFinanceSdk.dll"
    dll.write_bytes(b"MZ" + b"\0" * 200)
    with pytest.raises(SdkLoadError, match="Windows DLL"):
        FinanceSdk(dll, "c", "s").open()


def test_other_library_lacks_sdk_symbols(tmp_path):
    import ctypes.util

    libz = ctypes.util.find_library("z") or "libz.so.1"
    import subprocess
    path = subprocess.run(["sh", "-c", f"ldconfig -p | grep -m1 '{libz}' | sed 's/.*=> //'"],
                          capture_output=True, text=True).stdout.strip()
    target = tmp_path / "libWeWorkFinanceSdk_C.so"
    shutil.copy(path, target)
    with pytest.raises(SdkLoadError, match="is not the WeCom Finance SDK") as err:
        FinanceSdk(target, "c", "s").open()
    assert "NewSdk" in str(err.value) and str(target) in str(err.value)


def test_wrong_architecture_is_named(tmp_path, simulator_path):
    target = tmp_path / "libWeWorkFinanceSdk_C.so"
    data = bytearray(simulator_path.read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # e_machine = AArch64
    target.write_bytes(bytes(data))
    with pytest.raises(SdkLoadError, match="built for ARM64") as err:
        FinanceSdk(target, "c", "s").open()
    assert str(target) in str(err.value)


def test_error_table():
    from app.core.sdk.errors import error_for_code

    for code in range(10000, 10012):
        err = error_for_code(code, call="X")
        assert err.code == code and err.message_en and err.message_zh
        assert err.retryable == (code in (10001, 10002, 10003))
        assert str(code) in err.message("zh") and str(code) in str(err)
    assert error_for_code(424242).code == 424242


def test_chat_data_answers_are_classified_try_later_or_stop():
    from app.core.sdk.binding import parse_chat_data
    from app.core.sdk.errors import SdkResponseError

    def error(body: bytes) -> SdkResponseError:
        with pytest.raises(SdkResponseError) as info:
            parse_chat_data(body)
        return info.value

    unknown = error(json.dumps({"errcode": 301042, "errmsg": "ip not allowed"}).encode())
    assert unknown.code == 301042 and not unknown.retryable and "ip not allowed" in str(unknown)
    for code in (-1, 45009, 45033):  # WeCom's "system busy" and frequency limits: back off and retry
        e = error(json.dumps({"errcode": code, "errmsg": "busy"}).encode())
        assert e.code == code and e.retryable and not e.new_token
    for code in (40014, 42001):  # the access token: a new handle gets a new one
        e = error(json.dumps({"errcode": code, "errmsg": "token"}).encode())
        assert e.retryable and e.new_token
    for code, words in ((40001, "Secret is wrong"), (40013, "corp ID is wrong"), (60020, "trusted IP"),
                        (301052, "chat-archive service")):
        e = error(json.dumps({"errcode": code, "errmsg": "x"}).encode())
        assert not e.retryable and words in str(e), code
    # An overloaded server or proxy answers HTTP 200 with a body that is not JSON: try later.
    for body in (b"Service Unavailable", b"{not json", b"\xff\xfe", b"[1, 2]", b""):
        e = error(body)
        assert e.retryable and e.code == 10002, body
    assert "Service Unavailable" in str(error(b"Service Unavailable\x00\x1b[31m"))
    with pytest.raises(SdkResponseError, match="seq"):
        parse_chat_data(b'{"errcode":0,"chatdata":[{"msgid":"x"}]}')
    assert parse_chat_data(b'{"errcode":0,"errmsg":"ok","chatdata":[]}') == []
    # Fields of the wrong type never raise: the entry is then quarantined by the decrypt step.
    items = parse_chat_data(b'{"errcode":0,"chatdata":[{"seq":5,"msgid":7,"publickey_ver":"2",'
                            b'"encrypt_random_key":null,"encrypt_chat_msg":["x"]}]}')
    assert items[0].seq == 5 and items[0].msgid == "7" and items[0].publickey_ver == -1
    assert items[0].encrypt_random_key == "" and items[0].encrypt_chat_msg == ""


def test_errors_cross_a_process_boundary_intact():
    import pickle

    from app.core.sdk.errors import SdkCrashError, SdkResponseError, error_for_code

    for err in (error_for_code(10009, call="GetChatData", detail="d"),
                SdkResponseError(45009, "busy", "繁忙", call="GetChatData", retryable=True, new_token=False),
                SdkCrashError(0, "crashed", "崩溃", call="GetMediaData")):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err) and str(again) == str(err)
        assert (again.code, again.call, again.retryable, again.message_zh) == (err.code, err.call, err.retryable,
                                                                              err.message_zh)


def test_decrypt_data_refuses_what_kills_tencents_library(simulator_path):
    """Tencent's DecryptData ends its process on an encrypt_chat_msg shorter than 13 characters;
    the binding refuses those (and NUL bytes) before calling, as a quarantinable item error."""
    from app.core.sdk import SdkItemError, decrypt_data

    for msg in ("", "x", "a" * 12, b"a" * 12, "abc\0defghijklmnop"):
        with pytest.raises(SdkItemError) as info:
            decrypt_data(str(simulator_path), b"k" * 32, msg)
        assert info.value.code == 10006


def test_retryable_error_class():
    from app.core.sdk.errors import error_for_code

    assert isinstance(error_for_code(10002), SdkRetryableError)
