"""The server's API in-process: an HMAC-signed msg-server request sequence (sync, sessions,
session-msgs, search) gets msg-server-shaped answers; bad signatures are refused; /api/v2 needs a
token, honours scopes and records every read; /health, /metrics and the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from archive_kit import make_archive
from falcon import testing

from app.core.auth import AccountService, ScopeSpec
from app.server import signing
from app.server.api import make_app
from app.server.openapi import openapi_json

APP_CODE = "inner-app-code-for-tests"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(tmp_path):
    from accounts_kit import FAST

    ctx, admin = make_archive(tmp_path / "data", messages=90)
    accounts = AccountService(ctx.db, ctx.trail, hasher=FAST)
    token = accounts.issue_token(admin).token
    app = make_app(ctx, app_code=APP_CODE, v1_token=token, instance_id="test")
    yield ctx, admin, testing.TestClient(app), token, accounts
    ctx.close()


def _signed(fields, params):
    params = {k: str(v) for k, v in params.items()}
    params["signature"] = signing.sign(APP_CODE, signing.canonical(fields, params))
    return params


def _pair(ctx, admin):
    """A staff member and the customer of an external conversation, with a word of its text."""
    sessions = ctx.archive.sessions(admin, session_type="external", limit=50)
    for s in sessions:
        msgs = [m for m in ctx.archive.messages(admin, session_id=s.session_id, limit=200) if m.msgtype == "text"]
        if msgs and len(s.participants) == 2:
            staff = next(p for p in s.participants if not p.startswith(("wm", "wo")))
            peer = next(p for p in s.participants if p != staff)
            return s, staff, peer, msgs
    raise AssertionError("no external conversation with text")


def test_msg_server_sequence(served):
    ctx, admin, client, _token, _ = served
    corpid = ctx.archive.corps(admin)[0].corpid
    # 1. sync: signature over ext_corp_id
    r = client.simulate_post("/api/v1/chat-msg/sync", json={
        "ext_corp_id": corpid, "signature": signing.sign(APP_CODE, corpid.encode())})
    assert r.status_code == 200 and r.json == {"code": 0, "message": "ok", "data": None}
    session, staff, peer, msgs = _pair(ctx, admin)
    # 2. sessions
    params = _signed(signing.SESSIONS_FIELDS, {"ext_corp_id": corpid, "ext_staff_id": staff,
                                               "session_type": "external", "name": "", "sort_field": "",
                                               "sort_type": "", "page": 1, "page_size": 20})
    r = client.simulate_get("/api/v1/chat-msg/sessions", query_string=urlencode(params))
    body = r.json
    assert r.status_code == 200 and body["code"] == 0 and set(body["data"]) == {"items", "pager"}
    assert body["data"]["pager"]["page"] == 1 and body["data"]["pager"]["page_size"] == 20
    items = body["data"]["items"]
    assert any(i["session_id"] == session.session_id and i["peer_ext_id"] == peer for i in items)
    assert {"msgid", "from", "tolist", "msgtime", "msgtype", "seq", "session_type", "peer_name", "ext_corp_id"} <= set(items[0])
    assert all(i["session_type"] == "external" for i in items)
    # 3. session-msgs
    params = _signed(signing.MSGS_FIELDS, {"ext_corp_id": corpid, "ext_staff_id": staff, "receiver_id": peer,
                                           "msg_type": "", "sort_field": "", "sort_type": "asc", "page": 1,
                                           "page_size": 500, "send_at_start": "", "send_at_end": "", "min_id": "",
                                           "max_id": "", "limit": ""})
    r = client.simulate_get("/api/v1/chat-msg/session-msgs", query_string=urlencode(params))
    body = r.json
    assert body["code"] == 0 and body["message"] == "ok" and set(body["data"]) == {"items", "total"}
    got = [i["msgid"] for i in body["data"]["items"]]
    assert body["data"]["total"] == session.message_count == len(got)
    assert {m.msgid for m in msgs} <= set(got)
    text_item = next(i for i in body["data"]["items"] if i["msgtype"] == "text")
    assert json.loads(text_item["chat_msg_content"]["content"])["content"]
    # 4. search: a word of one of the pair's messages
    word = next(m.content_text[:2] for m in msgs if len(m.content_text.strip()) >= 2)
    params = _signed(signing.SEARCH_FIELDS, {"ext_corp_id": corpid, "keyword": word, "ext_staff_id": staff,
                                             "ext_peer_id": peer, "page": 1, "page_size": 10})
    r = client.simulate_get("/api/v1/chat-msg/search", query_string=urlencode(params))
    body = r.json
    assert body["code"] == 0 and body["data"]["total"] >= 1
    assert all(word in i["content_text"] and i["session_id"] == session.session_id for i in body["data"]["items"])
    # every v1 read is in the audit trail, as the v1 account, without the signature
    entries = [e for e in ctx.trail.entries(admin, limit=30) if e.action == "api.read"]
    assert {e.object.split(" ")[1] for e in entries} >= {"/api/v1/chat-msg/sessions", "/api/v1/chat-msg/session-msgs",
                                                         "/api/v1/chat-msg/search"}
    assert all(e.login_id == "api-v1" and "signature" not in e.detail["params"] for e in entries)


def test_bad_signature_is_refused(served):
    ctx, admin, client, _token, _ = served
    corpid = ctx.archive.corps(admin)[0].corpid
    params = _signed(signing.SESSIONS_FIELDS, {"ext_corp_id": corpid, "ext_staff_id": "a", "session_type": "external",
                                               "page": 1, "page_size": 10})
    params["ext_staff_id"] = "someone-else"  # changed after signing
    r = client.simulate_get("/api/v1/chat-msg/sessions", query_string=urlencode(params))
    assert r.json["code"] == 40001 and r.json["data"] is None
    r = client.simulate_post("/api/v1/chat-msg/sync", json={"ext_corp_id": corpid, "signature": "0" * 64})
    assert r.json["code"] == 40001


def test_v2_needs_a_token_and_honours_scope(served):
    ctx, admin, client, token, accounts = served
    assert client.simulate_get("/api/v2/sessions").status_code == 401
    assert client.simulate_get("/api/v2/sessions", headers={"Authorization": "Bearer wat_nonsense"}).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    all_sessions = client.simulate_get("/api/v2/sessions", params={"limit": 1000}, headers=auth).json["items"]
    session, staff, _peer, _msgs = _pair(ctx, admin)
    accounts.create_account(admin, "scoped", "scoped-reviewer-1", roles={"reviewer"}, must_change_password=False)
    accounts.set_scope(admin, "scoped", ScopeSpec(userids=frozenset({staff})))
    scoped = accounts.issue_token(accounts.authenticate("scoped", "scoped-reviewer-1", "h")).token
    mine = client.simulate_get("/api/v2/sessions", params={"limit": 1000},
                               headers={"Authorization": f"Bearer {scoped}"}).json["items"]
    assert 0 < len(mine) < len(all_sessions) and all(staff in s["participants"] for s in mine)
    outside = next(s for s in all_sessions if staff not in s["participants"])
    r = client.simulate_get(f"/api/v2/sessions/{outside['session_id']}/messages",
                            headers={"Authorization": f"Bearer {scoped}"})
    assert r.status_code == 403 and "outside the scope" in r.json["error"]
    r = client.simulate_get(f"/api/v2/sessions/{session.session_id}/messages", params={"limit": 1},
                            headers={"Authorization": f"Bearer {scoped}"})
    assert r.status_code == 200 and len(r.json["items"]) == 1 and r.json["next_cursor"]
    r = client.simulate_get(f"/api/v2/sessions/{session.session_id}/messages", headers={
        "Authorization": f"Bearer {scoped}"}, params={"limit": 1000, "after": r.json["next_cursor"]})
    assert len(r.json["items"]) == session.message_count - 1
    r = client.simulate_get("/api/v2/search", params={"q": "type:text"}, headers={"Authorization": f"Bearer {scoped}"})
    assert r.status_code == 200 and r.json["total"] < ctx.search.query_count(admin, "type:text")
    r = client.simulate_get("/api/v2/search", params={"q": '"unclosed'}, headers=auth)
    assert r.status_code == 400 and "character" in r.json["error"]
    entries = ctx.trail.entries(admin, limit=40)
    assert any(e.action == "session.open" and e.outcome == "denied" and e.account == "scoped" for e in entries)
    assert any(e.action == "api.read" and e.account == "scoped" and "/api/v2/search" in e.object for e in entries)
    assert client.simulate_get("/api/v2/status", headers=auth).json["last_syncs"]


def test_health_metrics_and_openapi(served):
    _ctx, _admin, client, _token, _ = served
    health = client.simulate_get("/health").json
    assert health["status"] == "ok" and health["checks"] == {"database": "ok", "queue": "ok"}
    text = client.simulate_get("/metrics").text
    assert "# TYPE wecom_auditor_messages gauge" in text and 'wecom_auditor_messages{corp="' in text
    assert "wecom_auditor_http_requests_total{" in text
    served_doc = client.simulate_get("/openapi.json").json
    assert json.loads((ROOT / "docs" / "openapi.json").read_text()) == served_doc == json.loads(openapi_json())
    assert {"/api/v1/chat-msg/sync", "/api/v1/chat-msg/sessions", "/api/v1/chat-msg/session-msgs",
            "/api/v1/chat-msg/search"} <= set(served_doc["paths"])
