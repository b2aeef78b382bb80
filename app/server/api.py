"""The REST API of ``wecom-auditor serve`` (a falcon WSGI app; no Qt).

``/api/v1/chat-msg/{sync,sessions,session-msgs,search}`` answer like OpenSCRM's msg-server (HMAC
signing with InnerSrvAppCode, ``{"code","message","data"}`` bodies) so that an api-server can point
at this server. They act as one account of the archive (a login token given to the server,
``WECOM_AUDITOR_V1_TOKEN``): its roles and scope apply, and every request is in the audit trail under
that account (``api.read``, login ``api-v1``). Where msg-server is flawed the answers differ (see
``V1_DIFFERENCES`` and the OpenAPI document): session ids are this archive's (one per conversation,
not one per sender of a group), and search is limited to the corp, the pair and the keyword (msg-server's
``OR`` leaks every message between the pair, of any corp, whatever the keyword).

``/api/v2`` authenticates the app's accounts by login token (``Authorization: Bearer wat_…``),
honours their scopes, and records every read. ``/health`` and ``/metrics`` (Prometheus text) hold
no content and need no login.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable

import falcon

from app.core.actor import Actor
from app.core.auth import Action
from app.core.auth.errors import AuthError, PermissionDenied

from . import signing
from .openapi import openapi_document

log = logging.getLogger(__name__)

V1_TYPES = {"room": "group", "group": "group", "external": "external", "internal": "internal", "inner": "internal"}
V1_NAMES = {"group": "room", "external": "external", "internal": "internal"}
MAX_PAGE_SIZE = 1000
ACTOR_CACHE_S = 30.0
V1_DIFFERENCES = (
    "session_id is this archive's id of the conversation (msg-server hashes sender+room, so a group had one id "
    "per sender)",
    "search is limited to the corp, the two people and the keyword (msg-server's OR returned every message between "
    "them, of every corp, whatever the keyword)",
    "sync runs the archive's own sync (all message types, media verified) and answers when it has finished",
    "every request acts as the account whose token the server was given, within its scope, and is audited",
)


class ApiError(Exception):
    def __init__(self, status: str, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Metrics:
    """Request counters for /metrics (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}

    def count(self, route: str, status: int) -> None:
        with self.lock:
            self.requests[(route, status)] = self.requests.get((route, status), 0) + 1


class _Tokens:
    """Actors of login tokens, cached briefly (a revoked token stops working within 30 s)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.lock = threading.Lock()
        self.cache: dict[str, tuple[float, Actor]] = {}

    def actor(self, token: str, workstation: str, login_id: str | None = None) -> Actor:
        now = time.monotonic()
        with self.lock:
            hit = self.cache.get(token)
            if hit and now - hit[0] < ACTOR_CACHE_S:
                return hit[1]
        actor = self.ctx.accounts.actor_from_token(token, workstation)
        if login_id:
            actor = dataclasses.replace(actor, login_id=login_id)
        with self.lock:
            self.cache[token] = (now, actor)
        return actor


class Server:
    """What the resources share: the context, the v1 app code and account, counters."""

    def __init__(self, ctx, *, app_code: str | None, v1_token: str | None, instance_id: str,
                 run_sync: Callable | None = None):
        self.ctx = ctx
        self.app_code = app_code
        self.v1_token = v1_token
        self.instance_id = instance_id
        self.tokens = _Tokens(ctx)
        self.metrics = Metrics()
        self.run_sync = run_sync or _run_sync
        self.started = time.time()

    def v1_actor(self, req) -> Actor:
        if not self.app_code or not self.v1_token:
            raise ApiError(falcon.HTTP_503, 503, "the msg-server API is not enabled on this server (it needs "
                                                 "WECOM_AUDITOR_INNER_APP_CODE and WECOM_AUDITOR_V1_TOKEN)")
        try:
            return self.tokens.actor(self.v1_token, f"api-v1 {req.remote_addr}", login_id="api-v1")
        except AuthError as exc:
            raise ApiError(falcon.HTTP_503, 503, f"the msg-server API's account cannot log in: {exc}") from None

    def v2_actor(self, req) -> Actor:
        auth = req.get_header("Authorization") or ""
        if not auth.startswith("Bearer "):
            raise ApiError(falcon.HTTP_401, 401, "log in: send a login token as 'Authorization: Bearer <token>' "
                                                 "(wecom-auditor login --print-token)")
        try:
            return self.tokens.actor(auth[7:].strip(), f"api {req.remote_addr}")
        except AuthError as exc:
            raise ApiError(falcon.HTTP_401, 401, str(exc)) from None

    def record(self, actor: Actor, req, *, rows: int, detail: dict | None = None) -> None:
        self.ctx.trail.record(actor, Action.API_READ, object_type="api", object=f"{req.method} {req.path}",
                              detail={"params": {k: v for k, v in req.params.items() if k != "signature"},
                                      "rows": rows, "remote": req.remote_addr, "instance": self.instance_id,
                                      **(detail or {})})

    def corp(self, actor: Actor, corpid: str | None):
        corps = self.ctx.archive.corps(actor)
        if corpid:
            for c in corps:
                if c.corpid == corpid:
                    return c
            raise ApiError(falcon.HTTP_404, 404, f"corp {corpid!r} is not in this archive")
        if not corps:
            raise ApiError(falcon.HTTP_404, 404, "the archive holds no corp yet")
        return corps[0]


def _run_sync(ctx, actor: Actor, corpid: str) -> dict:
    """Sync ``corpid`` in a sync process (Tencent's library never loads in the server's process)."""
    from app.core.auth import SYNC_RUN
    from app.core.config.secrets import SecretMissingError
    from app.core.config.settings import SettingsError
    from app.core.sync.process import SyncRunFailed, run_sync_process

    ctx.trail.require(actor, SYNC_RUN, action=Action.SYNC_RUN, object_type="corp", object=corpid)
    try:
        plan = ctx.sync_plan(ctx.settings.corp(corpid), actor=actor)
    except (SettingsError, SecretMissingError) as exc:
        raise ApiError(falcon.HTTP_400, 400, f"this server cannot sync {corpid}: {exc}") from None
    try:
        report = run_sync_process(plan)
    except SyncRunFailed as exc:
        if exc.error_type == "ConcurrentSyncError":
            return {"outcome": "running elsewhere"}
        raise ApiError(falcon.HTTP_502, 502, exc.message_en) from None
    return {"outcome": report.outcome, "stored": report.stored, "last_seq": report.last_seq}


# ---------------------------------------------------------------------------------------------- helpers

def _int(req, name: str, default: int, lo: int, hi: int) -> int:
    value = req.get_param(name)
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError:
        raise ApiError(falcon.HTTP_400, 400, f"{name} must be a whole number") from None
    if not lo <= n <= hi:
        raise ApiError(falcon.HTTP_400, 400, f"{name} must be from {lo} to {hi}")
    return n


def _json(resp, body, status=falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(body, ensure_ascii=False)


def _raw_object(raw: bytes, msgtype: str):
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    value = doc.get(msgtype) if isinstance(doc, dict) else None
    return value if isinstance(value, dict | list) else None


def _v1_message(m, corpid: str, raw: bytes | None, names: dict[str, str]) -> dict:
    content = _raw_object(raw, m.msgtype) if raw is not None else None
    return {
        "id": str(m.id), "ext_corp_id": corpid, "ext_creator_id": m.sender, "msgid": m.msgid, "action": m.action,
        "from": m.sender, "tolist": list(m.tolist), "roomid": m.roomid, "msgtime": m.msgtime, "msgtype": m.msgtype,
        "content_text": m.content_text, "seq": m.seq, "session_id": m.session_id or "",
        "session_type": V1_NAMES.get(m.session_type or "", m.session_type or ""),
        "chat_msg_content": {"content_type": m.msgtype,
                             "content": json.dumps(content, ensure_ascii=False) if content is not None else "",
                             "file_url": "", "file_name": ""},
        "keywords": "", "attachments": content, "sender_name": names.get(m.sender, ""), "sender_avatar": "",
    }


def _v2_message(m) -> dict:
    return {"id": str(m.id), "corp_id": str(m.corp_id), "seq": m.seq, "msgid": m.msgid, "action": m.action,
            "from": m.sender, "tolist": list(m.tolist), "roomid": m.roomid, "msgtime": m.msgtime,
            "msgtype": m.msgtype, "session_id": m.session_id, "session_type": m.session_type,
            "text": m.content_text, "has_media": m.has_media, "recalled_at": m.recalled_at}


def _v2_session(s) -> dict:
    return {"corp_id": str(s.corp_id), "session_id": s.session_id, "session_type": s.session_type,
            "roomid": s.roomid, "participants": list(s.participants), "first_msgtime": s.first_msgtime,
            "last_msgtime": s.last_msgtime, "message_count": s.message_count}


def _names(ctx, actor: Actor, ids) -> dict[str, str]:
    try:
        return {i: n for i, n in ctx.directory.names(list(ids)).items() if n} if hasattr(ctx.directory, "names") else {}
    except Exception:  # noqa: BLE001 — names are a convenience; the answer is complete without them
        return {}


# ---------------------------------------------------------------------------------------------- v1

class V1Base:
    fields: dict = {}

    def __init__(self, server: Server):
        self.s = server

    def _verify(self, req) -> Actor:
        actor = self.s.v1_actor(req)
        assert self.s.app_code is not None  # v1_actor refuses a server without one
        params = {k: (v if isinstance(v, str) else v[-1]) for k, v in req.params.items()}
        if not signing.check(self.s.app_code, signing.canonical(self.fields, params), params.get("signature")):
            raise ApiError(falcon.HTTP_200, 40001, "签名校验失败 check sign failed")
        return actor

    def _pairs(self, actor: Actor, corp_id: int, staff: str, peer: str | None, session_type: str | None = None):
        """Sessions of ``staff`` (with ``peer`` if given: a person in a one-to-one chat, or a room)."""
        rows, offset = [], 0
        while True:
            page = self.s.ctx.archive.sessions(actor, corp_id, session_type, participant_ids=[staff], limit=1000,
                                               offset=offset)
            rows.extend(page)
            if len(page) < 1000:
                break
            offset += 1000
        if peer:
            rows = [r for r in rows if r.roomid == peer or (not r.roomid and peer in r.participants)]
        return rows


class V1Sync(V1Base):
    def on_post(self, req, resp):
        actor = self.s.v1_actor(req)
        body = req.get_media(default_when_empty={}) or {}
        corpid = str(body.get("ext_corp_id") or "")
        if not corpid:
            raise ApiError(falcon.HTTP_200, 400, "ext_corp_id is required")
        if not signing.check(self.s.app_code, corpid.encode("utf-8"), body.get("signature")):
            raise ApiError(falcon.HTTP_200, 40001, "签名校验失败 check sign failed")
        try:
            result = self.s.run_sync(self.s.ctx, actor, corpid)
        except PermissionDenied:
            raise
        except ApiError:
            raise
        except Exception as exc:  # noqa: BLE001 — one sentence, no content
            log.warning("v1 sync of %s failed: %s", corpid, type(exc).__name__)
            raise ApiError(falcon.HTTP_500, 500, f"the sync failed ({type(exc).__name__})") from None
        log.info("v1 sync of %s: %s", corpid, result)
        _json(resp, {"code": 0, "message": "ok", "data": None})


class V1Sessions(V1Base):
    fields = signing.SESSIONS_FIELDS

    def on_get(self, req, resp):
        actor = self._verify(req)
        corp = self.s.corp(actor, req.get_param("ext_corp_id"))
        staff = req.get_param("ext_staff_id") or ""
        kind = V1_TYPES.get(req.get_param("session_type") or "")
        if not staff or kind is None:
            raise ApiError(falcon.HTTP_200, 400, "ext_staff_id and session_type (room, external or internal) are required")
        page = _int(req, "page", 1, 0, 1_000_000) or 1
        size = _int(req, "page_size", 10, 0, MAX_PAGE_SIZE) or 10
        name = (req.get_param("name") or "").strip()
        sessions = self._pairs(actor, corp.id, staff, None, kind)
        if name:
            names = _names(self.s.ctx, actor, {p for s in sessions for p in s.participants})
            sessions = [s for s in sessions if any(names.get(p, "").startswith(name) for p in s.participants if p != staff)]
        total = len(sessions)
        chosen = sessions[(page - 1) * size: page * size]
        items = []
        names = _names(self.s.ctx, actor, {p for s in chosen for p in s.participants})
        for s in chosen:
            last = self.s.ctx.archive.messages(actor, corp_id=corp.id, session_id=s.session_id, limit=1,
                                               newest_first=True)
            if not last:
                continue
            m = last[0]
            peer = s.roomid or next((p for p in s.participants if p != staff), "")
            item = _v1_message(m, corp.corpid, None, names)
            for k in ("chat_msg_content", "keywords", "attachments", "sender_name", "sender_avatar"):
                item.pop(k)
            item.update({"peer_avatar": "", "peer_name": names.get(peer, ""), "peer_ext_id": peer,
                         "peer_type": "", "group_chat_name": names.get(s.roomid, "") if s.roomid else ""})
            items.append(item)
        self.s.record(actor, req, rows=len(items), detail={"sessions": [s.session_id for s in chosen]})
        _json(resp, {"code": 0, "message": "", "data": {"items": items, "pager": {
            "page": page, "page_size": size, "total_rows": total}}})


class V1SessionMsgs(V1Base):
    fields = signing.MSGS_FIELDS

    def on_get(self, req, resp):
        from app.core.dates import local_ms

        actor = self._verify(req)
        corp = self.s.corp(actor, req.get_param("ext_corp_id"))
        staff, peer = req.get_param("ext_staff_id") or "", req.get_param("receiver_id") or ""
        if not staff or not peer:
            raise ApiError(falcon.HTTP_200, 400, "ext_staff_id and receiver_id are required")
        page = _int(req, "page", 1, 0, 1_000_000) or 1
        size = _int(req, "page_size", 10, 0, MAX_PAGE_SIZE) or 10
        start = end = None
        for name in ("send_at_start", "send_at_end"):
            value = req.get_param(name)
            if value:
                try:
                    from datetime import datetime

                    ms = local_ms(datetime.strptime(value[:10], "%Y-%m-%d"))
                except ValueError:
                    raise ApiError(falcon.HTTP_200, 400, f"{name} must be a date YYYY-MM-DD") from None
                if name == "send_at_start":
                    start = ms
                else:
                    end = ms + 86_400_000
        newest = (req.get_param("sort_type") or "desc") != "asc"
        msg_type = req.get_param("msg_type") or None
        max_id, min_id = req.get_param("max_id"), req.get_param("min_id")
        limit = _int(req, "limit", 0, 0, MAX_PAGE_SIZE)
        rows = []
        for s in self._pairs(actor, corp.id, staff, peer):
            after = None
            while True:  # the conversation in pages (scope checked by the archive service)
                page_rows = self.s.ctx.archive.messages(actor, corp_id=corp.id, session_id=s.session_id,
                                                        start_ms=start, end_ms=end, limit=1000, after=after)
                rows.extend(page_rows)
                if len(page_rows) < 1000:
                    break
                after = (page_rows[-1].msgtime, page_rows[-1].id)
        if msg_type:
            rows = [m for m in rows if m.msgtype == msg_type]
        rows.sort(key=lambda m: (m.msgtime, m.id), reverse=newest)
        if max_id or min_id:  # context around a message: by id, as msg-server
            try:
                pivot = int(max_id or min_id)
            except ValueError:
                raise ApiError(falcon.HTTP_200, 400, "max_id / min_id must be message ids") from None
            rows = [m for m in rows if (m.id > pivot if max_id else m.id < pivot)]
            size = limit or size
        total = len(rows)
        chosen = rows[(page - 1) * size: page * size]
        raws = self.s.ctx.archive.raw_json_of(actor, [m.id for m in chosen])
        names = _names(self.s.ctx, actor, {m.sender for m in chosen})
        items = [_v1_message(m, corp.corpid, raws.get(m.id), names) for m in chosen]
        self.s.record(actor, req, rows=len(items), detail={"message_ids": [str(m.id) for m in chosen][:200]})
        _json(resp, {"code": 0, "message": "ok", "data": {"items": items, "total": total}})


class V1Search(V1Base):
    fields = signing.SEARCH_FIELDS

    def on_get(self, req, resp):
        actor = self._verify(req)
        corp = self.s.corp(actor, req.get_param("ext_corp_id"))
        keyword = req.get_param("keyword") or ""
        staff, peer = req.get_param("ext_staff_id") or "", req.get_param("ext_peer_id") or ""
        if not keyword or not staff or not peer:
            raise ApiError(falcon.HTTP_200, 400, "keyword, ext_staff_id and ext_peer_id are required")
        page = _int(req, "page", 1, 0, 1_000_000) or 1
        size = _int(req, "page_size", 10, 0, MAX_PAGE_SIZE) or 10
        sessions = self._pairs(actor, corp.id, staff, peer)
        items, total = [], 0
        if sessions:
            quoted = '"' + keyword.replace("\\", "\\\\").replace('"', '\\"') + '"'
            query = f"{quoted} (" + " OR ".join(f"in:{s.session_id}" for s in sessions[:50]) + ")"
            search = self.s.ctx.search
            total = search.query_count(actor, query, corp_id=corp.id)
            hits, before = [], None
            while len(hits) < page * size:
                batch = search.query(actor, query, limit=min(1000, page * size), before=before, corp_id=corp.id,
                                     record=before is None)
                hits.extend(batch)
                if len(batch) < min(1000, page * size):
                    break
                before = batch[-1].cursor()
            chosen = [h.message for h in hits[(page - 1) * size: page * size]]
            raws = self.s.ctx.archive.raw_json_of(actor, [m.id for m in chosen])
            names = _names(self.s.ctx, actor, {m.sender for m in chosen})
            items = [_v1_message(m, corp.corpid, raws.get(m.id), names) for m in chosen]
        self.s.record(actor, req, rows=len(items), detail={"query": keyword})
        _json(resp, {"code": 0, "message": "ok", "data": {"items": items, "total": total}})


# ---------------------------------------------------------------------------------------------- v2

class V2Base:
    def __init__(self, server: Server):
        self.s = server


class V2Sessions(V2Base):
    def on_get(self, req, resp):
        actor = self.s.v2_actor(req)
        corp = self.s.corp(actor, req.get_param("corp"))
        kind = req.get_param("type") or None
        limit = _int(req, "limit", 100, 1, MAX_PAGE_SIZE)
        offset = _int(req, "offset", 0, 0, 10_000_000)
        participant = req.get_param("participant")
        rows = self.s.ctx.archive.sessions(actor, corp.id, kind, limit=limit, offset=offset,
                                           participant_ids=[participant] if participant else None)
        self.s.record(actor, req, rows=len(rows))
        _json(resp, {"items": [_v2_session(s) for s in rows], "next_offset": offset + len(rows)
                     if len(rows) == limit else None})


class V2SessionMessages(V2Base):
    def on_get(self, req, resp, session_id):
        actor = self.s.v2_actor(req)
        corp = self.s.corp(actor, req.get_param("corp"))
        limit = _int(req, "limit", 200, 1, MAX_PAGE_SIZE)
        after = None
        cursor = req.get_param("after")
        if cursor:
            try:
                t, i = cursor.split(":")
                after = (int(t), int(i))
            except ValueError:
                raise ApiError(falcon.HTTP_400, 400, "after must be the next_cursor of the previous page") from None
        else:
            if self.s.ctx.archive.open_session(actor, corp.id, session_id) is None:  # records session.open
                raise ApiError(falcon.HTTP_404, 404, f"there is no session {session_id}")
        rows = self.s.ctx.archive.messages(actor, corp_id=corp.id, session_id=session_id, limit=limit, after=after)
        self.s.record(actor, req, rows=len(rows), detail={"session_id": session_id})
        _json(resp, {"items": [_v2_message(m) for m in rows],
                     "next_cursor": f"{rows[-1].msgtime}:{rows[-1].id}" if len(rows) == limit else None})


class V2Message(V2Base):
    def on_get(self, req, resp, msgid):
        actor = self.s.v2_actor(req)
        raw = req.get_param_as_bool("raw") or False
        detail = self.s.ctx.archive.view_message(actor, msgid=msgid, raw=raw)  # records message.view / .raw
        if detail is None:
            raise ApiError(falcon.HTTP_404, 404, "there is no such message")
        body = _v2_message(detail.row) | {"raw_sha256": detail.raw_sha256, "publickey_ver": detail.publickey_ver}
        if raw:
            body["raw_json"] = detail.raw_json.decode("utf-8", "replace")
        _json(resp, body)


class V2Search(V2Base):
    def on_get(self, req, resp):
        actor = self.s.v2_actor(req)
        q = req.get_param("q") or ""
        if not q.strip():
            raise ApiError(falcon.HTTP_400, 400, "q (a query) is required")
        limit = _int(req, "limit", 50, 1, MAX_PAGE_SIZE)
        before = None
        cursor = req.get_param("before")
        if cursor:
            try:
                before = tuple(int(x) for x in cursor.split(":"))
            except ValueError:
                raise ApiError(falcon.HTTP_400, 400, "before must be the next_cursor of the previous page") from None
        corp = req.get_param("corp")
        corp_id = self.s.corp(actor, corp).id if corp else None
        hits = self.s.ctx.search.query(actor, q, limit=limit, before=before, corp_id=corp_id, record=before is None)
        total = self.s.ctx.search.query_count(actor, q, corp_id=corp_id) if before is None else None
        self.s.record(actor, req, rows=len(hits))
        _json(resp, {"items": [_v2_message(h.message) | {"offsets": [list(o) for o in h.offsets]} for h in hits],
                     "total": total, "next_cursor": ":".join(map(str, hits[-1].cursor())) if len(hits) == limit
                     else None})


class V2Sync(V2Base):
    def on_post(self, req, resp):
        actor = self.s.v2_actor(req)
        body = req.get_media(default_when_empty={}) or {}
        corpid = str(body.get("corpid") or "") or self.s.ctx.settings.corp().corpid
        _json(resp, self.s.run_sync(self.s.ctx, actor, corpid))


class V2Status(V2Base):
    def on_get(self, req, resp):
        actor = self.s.v2_actor(req)
        from app.core.server_status import server_status

        _json(resp, server_status(self.s.ctx, actor))


class OpenApi:
    def on_get(self, req, resp):
        _json(resp, openapi_document())


class Health:
    def __init__(self, server: Server):
        self.s = server

    def on_get(self, req, resp):
        from app.core.server_status import health

        body = health(self.s.ctx, self.s.instance_id)
        _json(resp, body, falcon.HTTP_200 if body["status"] == "ok" else falcon.HTTP_503)


class PrometheusMetrics:
    def __init__(self, server: Server):
        self.s = server

    def on_get(self, req, resp):
        from app.core.server_status import metrics_text

        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.text = metrics_text(self.s.ctx, self.s.metrics.requests, self.s.started)


# ---------------------------------------------------------------------------------------------- the app

def make_app(ctx, *, app_code: str | None = None, v1_token: str | None = None, instance_id: str = "",
             run_sync: Callable | None = None) -> falcon.App:
    """The WSGI application over ``ctx`` (an AppContext)."""
    server = Server(ctx, app_code=app_code, v1_token=v1_token, instance_id=instance_id, run_sync=run_sync)
    app = falcon.App(middleware=[_Count(server)])
    app.req_options.auto_parse_form_urlencoded = False
    for prefix in ("/api/v1/chat-msg", "/api/v1"):  # the route constants, and the design document's short forms
        app.add_route(f"{prefix}/sync", V1Sync(server))
        app.add_route(f"{prefix}/sessions", V1Sessions(server))
    app.add_route("/api/v1/chat-msg/session-msgs", V1SessionMsgs(server))
    app.add_route("/api/v1/msgs", V1SessionMsgs(server))
    app.add_route("/api/v1/chat-msg/search", V1Search(server))
    app.add_route("/api/v1/search", V1Search(server))
    app.add_route("/api/v2/sessions", V2Sessions(server))
    app.add_route("/api/v2/sessions/{session_id}/messages", V2SessionMessages(server))
    app.add_route("/api/v2/messages/{msgid}", V2Message(server))
    app.add_route("/api/v2/search", V2Search(server))
    app.add_route("/api/v2/sync", V2Sync(server))
    app.add_route("/api/v2/status", V2Status(server))
    app.add_route("/api/v2/openapi.json", OpenApi())
    app.add_route("/openapi.json", OpenApi())
    app.add_route("/health", Health(server))
    app.add_route("/metrics", PrometheusMetrics(server))
    app.add_error_handler(Exception, _error_handler(server))
    return app


class _Count:
    def __init__(self, server: Server):
        self.s = server

    def process_response(self, req, resp, resource, req_succeeded):
        route = req.uri_template or "unknown"
        self.s.metrics.count(route, int(resp.status_code if hasattr(resp, "status_code") else str(resp.status)[:3]))


def _error_handler(server: Server):
    def handle(req, resp, ex, params):
        v1 = req.path.startswith("/api/v1")
        if isinstance(ex, falcon.HTTPError):
            status, code, message = ex.status, ex.status_code, ex.title or "request refused"
        elif isinstance(ex, ApiError):
            status, code, message = ex.status, ex.code, ex.message
        elif isinstance(ex, PermissionDenied):
            status, code, message = falcon.HTTP_403, 403, str(ex)
        elif type(ex).__name__ == "QueryError":
            status, code, message = falcon.HTTP_400, 400, f"{ex.message} (at character {ex.position + 1})"
        elif isinstance(ex, AuthError):
            status, code, message = falcon.HTTP_401, 401, str(ex)
        else:
            log.error("API request %s %s failed: %s", req.method, req.path, type(ex).__name__)
            status, code, message = falcon.HTTP_500, 500, f"internal error ({type(ex).__name__}); see the server's log"
        if v1:
            _json(resp, {"code": code, "message": message, "data": None}, status)
        else:
            _json(resp, {"error": message}, status)
    return handle
