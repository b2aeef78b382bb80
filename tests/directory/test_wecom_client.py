"""WeComClient against scripted answers (no network): tokens, retries and their waits, errcodes as
sentences, answers that are not WeCom's, cancellation."""

from __future__ import annotations

import json

import pytest

from app.core.wecom.api import (
    HttpAnswer,
    WeComAccessError,
    WeComApiError,
    WeComCancelled,
    WeComClient,
    _reason,
)


class Scripted:
    """A transport answering from a list of (path suffix, answer) in order; records the requests."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def request(self, method, url, *, params=None, json_body=None, timeout=10, max_bytes=1 << 24):
        self.requests.append((method, url, dict(params or {}), json_body))
        path = url.split("/cgi-bin/", 1)[-1]
        for i, (suffix, answer) in enumerate(self.answers):
            if path == suffix:
                del self.answers[i]
                if isinstance(answer, Exception):
                    raise answer
                if isinstance(answer, HttpAnswer):
                    return answer
                return HttpAnswer(200, json.dumps(answer).encode(), "application/json")
        raise AssertionError(f"no scripted answer for {path}")

    def close(self):
        pass


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.slept.append(s)
        self.now += s


def token(t="T1", ttl=7200):
    return ("gettoken", {"errcode": 0, "errmsg": "ok", "access_token": t, "expires_in": ttl})


def client(transport, clock=None, **kw):
    clock = clock or Clock()
    return WeComClient("ww1", {"archive": "s3cret-archive", "contacts": "s3cret-contacts"}, transport,
                       sleep=clock.sleep, clock=clock, **kw), clock


def test_one_token_per_secret_reused_and_renewed_before_it_expires():
    t = Scripted([token("A", ttl=1000), ("user/get", {"errcode": 0, "name": "x"}), ("user/get", {"errcode": 0}),
                  token("B"), ("user/get", {"errcode": 0})])
    c, clock = client(t)
    c.call("user/get", credential="contacts")
    c.call("user/get", credential="contacts")
    clock.now += 701  # past expires_in minus the margin (1000 - 300 s)
    c.call("user/get", credential="contacts")
    tokens = [r[2].get("access_token") for r in t.requests if "user/get" in r[1]]
    assert tokens == ["A", "A", "B"]
    assert [r[2]["corpsecret"] for r in t.requests if r[1].endswith("gettoken")] == ["s3cret-contacts"] * 2


@pytest.mark.parametrize("code", [42001, 40014, 41001])
def test_an_invalid_or_expired_token_is_replaced_and_the_call_repeated(code):
    t = Scripted([token("A"), ("msgaudit/get_permit_user_list", {"errcode": code, "errmsg": "x"}), token("B"),
                  ("msgaudit/get_permit_user_list", {"errcode": 0, "ids": ["a"]})])
    c, _ = client(t)
    assert c.call("msgaudit/get_permit_user_list", credential="archive", method="POST", body={})["ids"] == ["a"]


def test_frequency_limits_wait_longer_each_time_then_give_up_with_a_sentence():
    answers = [token()] + [("user/list_id", {"errcode": 45009, "errmsg": "api freq out of limit"})] * 5
    records = []
    c, clock = client(Scripted(answers), on_call=records.append)
    with pytest.raises(WeComApiError) as err:
        c.call("user/list_id", credential="contacts", method="POST", body={})
    assert err.value.kind == "try_again" and err.value.errcode == 45009
    assert "call limit" in err.value.message_en and "45009" in err.value.message_zh
    assert sum(clock.slept) == pytest.approx(1 + 2 + 4 + 8)  # 4 waits between 5 attempts
    assert [r.errcode for r in records] == [0, 45009, 45009, 45009, 45009, 45009]


def test_busy_answers_and_server_errors_are_retried_a_client_error_is_not():
    t = Scripted([token(), ("department/list", HttpAnswer(502, b"Bad Gateway", "text/html")),
                  ("department/list", {"errcode": -1, "errmsg": "system busy"}),
                  ("department/list", {"errcode": 0, "department": []}),
                  ("department/simplelist", HttpAnswer(404, b"no", "text/plain"))])
    c, _ = client(t)
    assert c.call("department/list", credential="contacts") == {"errcode": 0, "department": []}
    with pytest.raises(WeComApiError) as err:
        c.call("department/simplelist", credential="contacts")
    assert err.value.kind == "refused" and err.value.http_status == 404
    assert err.value.message_en == "WeCom answered department/simplelist with HTTP 404 without WeCom's JSON."


def test_a_refusal_names_the_api_and_the_secret_and_never_the_secret_itself():
    t = Scripted([("gettoken", {"errcode": 40001, "errmsg": "invalid credential s3cret-contacts"}),
                  token(), ("user/get", {"errcode": 60111, "errmsg": "userid not found"})])
    c, _ = client(t)
    with pytest.raises(WeComApiError) as err:
        c.call("user/list_id", credential="contacts", method="POST", body={})
    assert err.value.api == "gettoken" and err.value.credential == "contacts"
    assert err.value.message_en.startswith("The contacts secret is wrong (WeCom errcode 40001)")
    assert "s3cret" not in err.value.message_en + err.value.message_zh
    with pytest.raises(WeComApiError) as err:
        c.call("user/get", credential="archive", params={"userid": "x"})
    assert err.value.item and err.value.message_en.startswith("user/get: WeCom knows no staff member")


def test_an_unknown_secret_kind_is_a_key_error():
    c, _ = client(Scripted([]))
    with pytest.raises(KeyError):
        c.call("externalcontact/get", credential="customer")


def test_cancel_during_a_wait():
    answers = [token()] + [("user/get", {"errcode": 45009})] * 5
    clock = Clock()
    asked = []

    def cancelled():
        asked.append(1)
        return len(asked) > 3

    c = WeComClient("ww1", {"archive": "s"}, Scripted(answers), sleep=clock.sleep, clock=clock, cancelled=cancelled)
    with pytest.raises(WeComCancelled):
        c.call("user/get", credential="archive")


def test_a_connection_failure_is_an_access_error_and_counted():
    records = []
    t = Scripted([("gettoken", WeComAccessError("unreachable", "Cannot reach WeCom.", "无法连接。"))])
    c, _ = client(t, on_call=records.append)
    with pytest.raises(WeComAccessError) as err:
        c.call("user/get", credential="archive")
    assert err.value.kind == "unreachable" and [(r.api, r.errcode, r.http_status) for r in records] == [
        ("gettoken", None, 0)]


def test_reasons_never_echo_a_url_with_a_token_or_secret():
    assert _reason(RuntimeError("GET /cgi-bin/user/get?access_token=abc failed")) == "RuntimeError"
    assert _reason(RuntimeError("gettoken?corpsecret=x")) == "RuntimeError"
