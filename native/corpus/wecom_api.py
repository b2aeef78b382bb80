"""WeCom's server API as a simulator serves it: the directory endpoints, answering from a corpus'
``directory.json`` (native/corpus/directory.py) as WeCom documents them.

Like the SDK simulator (native/simulator) plays Tencent's library, this plays
``qyapi.weixin.qq.com`` for the directory sync: ``gettoken`` with secrets that each may call some
APIs only (48002 otherwise), tokens that expire (42001) or are unknown (40014), cursor paging
(``user/list_id``, ``externalcontact/batch/get_by_user``, ``externalcontact/get``'s followers), the
100-pair limit of ``check_single_agree``, per-object errors (60111 for a userid WeCom does not know,
60011 outside the visible range, 84061 for an unknown external contact) and injected faults (any
errcode, HTTP status or non-JSON body, a number of times). It also serves the avatar images the
answers point at (``wework.qpic.cn``, ``wx.qlogo.cn``), drawn on request.

It holds no sockets: :meth:`WeComServer.handle` takes a request and returns the answer. The demo corp
calls it in process (app/core/directory/transport.py); the tests' stand-in serves it over HTTPS
behind a CONNECT proxy (tests/directory/standin.py).

Where WeCom documents no behaviour the simulator chooses one, and says so here: ``msgaudit/
groupchat/get`` on a customer group (WeCom: "only internal groups") answers 40058 (invalid
parameter); more than 100 pairs for ``check_single_agree`` answer 40058; a cursor it did not issue
answers 40058.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ALL_APIS = frozenset({"msgaudit", "contacts", "externalcontact"})
API_GROUPS = {"msgaudit/": "msgaudit", "user/": "contacts", "department/": "contacts",
              "externalcontact/": "externalcontact"}
ENDPOINTS = {
    ("GET", "gettoken"), ("POST", "user/list_id"), ("GET", "user/get"), ("GET", "user/simplelist"),
    ("GET", "department/list"), ("GET", "department/simplelist"), ("GET", "externalcontact/get_follow_user_list"),
    ("POST", "externalcontact/batch/get_by_user"), ("GET", "externalcontact/get"),
    ("POST", "externalcontact/groupchat/get"), ("POST", "msgaudit/groupchat/get"),
    ("POST", "msgaudit/get_permit_user_list"), ("POST", "msgaudit/check_single_agree"),
    ("POST", "msgaudit/check_room_agree"),
}
AVATAR_HOSTS = frozenset({"wework.qpic.cn", "wx.qlogo.cn"})
ERRMSG = {
    0: "ok", 40001: "invalid credential", 40013: "invalid corpid", 40014: "invalid access_token",
    41001: "access_token missing", 42001: "access_token expired", 40058: "invalid parameter",
    45009: "api freq out of limit", 48002: "api forbidden", 60011: "no privilege to access/modify contact/party/agent",
    60111: "userid not found", 84061: "not external contact", -1: "system busy",
}


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Fault:
    """Answer ``api`` (or "*") with ``errcode`` (or HTTP ``status`` with ``body``) ``times`` times
    (None: always), for requests ``match`` accepts."""

    api: str
    errcode: int | None = None
    times: int | None = 1
    status: int = 200
    body: bytes | None = None
    match: Callable[[dict], bool] | None = None


@dataclass
class Call:
    api: str
    secret_kind: str | None
    errcode: int | None
    status: int
    query: dict
    body: object
    at: float = field(default_factory=time.time)


def _json(obj, status: int = 200) -> Answer:
    return Answer(status, "application/json; charset=UTF-8",
                  json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _error(code: int, errmsg: str | None = None) -> Answer:
    return _json({"errcode": code, "errmsg": f"{errmsg or ERRMSG.get(code, 'error')}, hint: [simulator]"})


class WeComServer:
    """The directory endpoints of one corp, from a ``directory.json`` document.

    ``secrets``: secret → the API groups it may call (``msgaudit``, ``contacts``,
    ``externalcontact``). ``page_limits``: the most items one page gives, per API (WeCom may give
    fewer than asked). ``hidden_users``: userids outside the visible range (user/get answers 60011).
    Thread-safe. Change ``doc`` between syncs to make WeCom's side change (a rename, someone leaving)."""

    def __init__(self, doc: dict, *, secrets: dict[str, Iterable[str]], corpid: str | None = None,
                 token_ttl: int = 7200, page_limits: dict[str, int] | None = None,
                 hidden_users: Iterable[str] = (), clock: Callable[[], float] = time.time):
        self.doc = doc
        self.corpid = corpid or doc.get("corpid")
        self.secrets = {s: frozenset(g) for s, g in secrets.items()}
        self.token_ttl = token_ttl
        self.page_limits = {"user/list_id": 10000, "externalcontact/batch/get_by_user": 100,
                            "externalcontact/get": 500, **(page_limits or {})}
        self.hidden_users = set(hidden_users)
        self.clock = clock
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (secret, expiry)
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._salt = os.urandom(8)
        self._avatars: dict[str, bytes] = {}

    @classmethod
    def from_corpus(cls, corpus_dir: str | os.PathLike, **kw) -> WeComServer:
        """The server of a corpus: its directory.json; its corp secret may call every API unless
        ``secrets`` says otherwise. FileNotFoundError if the corpus has no directory.json."""
        root = Path(corpus_dir)
        doc = json.loads((root / "directory.json").read_text(encoding="utf-8"))
        conf = json.loads((root / "corpus.json").read_text(encoding="utf-8"))
        kw.setdefault("secrets", {conf["secret"]: ALL_APIS})
        return cls(doc, corpid=conf["corpid"], **kw)

    # -- helpers for tests
    def fail(self, api: str, errcode: int | None = None, *, times: int | None = 1, status: int = 200,
             body: bytes | None = None, match: Callable[[dict], bool] | None = None) -> None:
        with self._lock:
            self.faults.append(Fault(api, errcode, times, status, body, match))

    def expire_tokens(self) -> None:
        with self._lock:
            for t, (s, _) in list(self.tokens.items()):
                self.tokens[t] = (s, 0.0)

    def calls_of(self, api: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.api == api]

    # -- the request
    def handle(self, method: str, url: str, query: dict[str, str], body: bytes) -> Answer:
        """Answer one request (``url``: https://host/path; ``query``: its parameters)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in AVATAR_HOSTS:
            return self._fault("avatar", {"host": host, "path": parts.path}) or self._avatar(parts.path)
        path = parts.path.removeprefix("/cgi-bin/")
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        api = path if (method, path) in ENDPOINTS else None
        if api is None:
            return Answer(404, "text/plain", b"not found\n")
        secret_kind = None
        answer = self._fault(api, {"query": query, "body": payload})
        if answer is None:
            if api == "gettoken":
                answer = self._gettoken(query)
            else:
                token = query.get("access_token", "")
                answer, secret_kind = self._authorise(api, token)
                if answer is None:
                    if payload is None or (method == "POST" and not isinstance(payload, dict)):
                        answer = _error(40058, "request body is not a JSON object")
                    else:
                        answer = getattr(self, "_" + api.replace("/", "_"))(query, payload)
        code = None
        if answer.content_type.startswith("application/json"):
            try:
                code = answer.json().get("errcode")
            except ValueError:
                code = None
        with self._lock:
            self.calls.append(Call(api, secret_kind, code, answer.status, {k: v for k, v in query.items()
                                                                          if k not in ("access_token", "corpsecret")},
                                   payload))
        return answer

    def _fault(self, api: str, request: dict) -> Answer | None:
        with self._lock:
            for f in self.faults:
                if f.api not in (api, "*") or (f.match is not None and not f.match(request)):
                    continue
                if f.times is not None:
                    if f.times <= 0:
                        continue
                    f.times -= 1
                if f.errcode is not None:
                    return _error(f.errcode)
                return Answer(f.status, "text/plain", f.body if f.body is not None else b"fault\n")
        return None

    def _gettoken(self, query: dict) -> Answer:
        if query.get("corpid") != self.corpid:
            return _error(40013)
        secret = query.get("corpsecret", "")
        if not secret:
            return _error(41004, "corpsecret missing")
        if secret not in self.secrets:
            return _error(40001)
        token = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        with self._lock:
            self.tokens[token] = (secret, self.clock() + self.token_ttl)
        return _json({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl})

    def _authorise(self, api: str, token: str) -> tuple[Answer | None, str | None]:
        if not token:
            return _error(41001), None
        with self._lock:
            found = self.tokens.get(token)
        if found is None:
            return _error(40014), None
        secret, expiry = found
        if expiry <= self.clock():
            return _error(42001), None
        group = next(g for prefix, g in API_GROUPS.items() if api.startswith(prefix))
        if group not in self.secrets[secret]:
            return _error(48002), group
        return None, group

    # -- paging
    def _cursor(self, api: str, offset: int) -> str:
        mac = hmac.new(self._salt, f"{api}:{offset}".encode(), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{offset}:{mac}".encode()).decode().rstrip("=")

    def _offset(self, api: str, cursor: object) -> int | None:
        if not cursor:
            return 0
        try:
            text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode()
            offset = int(text.split(":", 1)[0])
        except (ValueError, UnicodeDecodeError):
            return None
        return offset if self._cursor(api, offset) == cursor else None

    def _page(self, api: str, items: list, cursor: object, limit: object, max_limit: int):
        """(items of this page, next_cursor) or an error Answer."""
        if limit is None or limit == "":
            limit = max_limit
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= max_limit:
            return _error(40058, f"limit must be 1..{max_limit}")
        offset = self._offset(api, cursor)
        if offset is None:
            return _error(40058, "invalid cursor")
        size = min(limit, self.page_limits.get(api, limit))
        page = items[offset:offset + size]
        nxt = self._cursor(api, offset + size) if offset + size < len(items) else ""
        return page, nxt

    # -- contacts
    def _users(self) -> list[dict]:
        return self.doc.get("users", [])

    def _user_list_id(self, query, body) -> Answer:
        items = [{"userid": u["userid"], "department": d} for u in self._users() for d in u.get("department", [])]
        got = self._page("user/list_id", items, body.get("cursor"), body.get("limit"), 10000)
        if isinstance(got, Answer):
            return got
        page, nxt = got
        return _json({"errcode": 0, "errmsg": "ok", "next_cursor": nxt, "dept_user": page})

    def _user_get(self, query, body) -> Answer:
        userid = query.get("userid", "")
        if userid in self.hidden_users:
            return _error(60011)
        user = next((u for u in self._users() if u["userid"] == userid), None)
        if user is None:
            return _error(60111)
        out = {k: v for k, v in user.items() if k != "joined"}
        return _json({"errcode": 0, "errmsg": "ok", **out, "thumb_avatar": user.get("avatar", "")})

    def _user_simplelist(self, query, body) -> Answer:
        dept = query.get("department_id", "")
        if not dept.isdigit():
            return _error(40058, "department_id missing")
        wanted = self._subtree(int(dept)) if query.get("fetch_child") == "1" else {int(dept)}
        users = [{"userid": u["userid"], "name": u["name"], "department": u["department"]} for u in self._users()
                 if set(u.get("department", [])) & wanted and u["userid"] not in self.hidden_users]
        return _json({"errcode": 0, "errmsg": "ok", "userlist": users})

    def _subtree(self, dept: int) -> set[int]:
        out, frontier = {dept}, [dept]
        while frontier:
            parent = frontier.pop()
            for d in self.doc.get("departments", []):
                if d.get("parentid") == parent and d["id"] not in out:
                    out.add(d["id"])
                    frontier.append(d["id"])
        return out

    def _department_list(self, query, body) -> Answer:
        depts = self.doc.get("departments", [])
        if query.get("id", "").isdigit():
            wanted = self._subtree(int(query["id"]))
            depts = [d for d in depts if d["id"] in wanted]
        return _json({"errcode": 0, "errmsg": "ok", "department": depts})

    def _department_simplelist(self, query, body) -> Answer:
        depts = [{"id": d["id"], "parentid": d.get("parentid", 0), "order": d.get("order", 0)}
                 for d in self.doc.get("departments", [])]
        return _json({"errcode": 0, "errmsg": "ok", "department_id": depts})

    # -- external contacts
    def _externals(self) -> list[dict]:
        return self.doc.get("external_contacts", [])

    @staticmethod
    def _contact(e: dict) -> dict:
        return {k: v for k, v in e.items() if k != "follow_user"}

    def _externalcontact_get_follow_user_list(self, query, body) -> Answer:
        users = sorted({f["userid"] for e in self._externals() for f in e.get("follow_user", [])})
        return _json({"errcode": 0, "errmsg": "ok", "follow_user": users})

    def _externalcontact_batch_get_by_user(self, query, body) -> Answer:
        ids = body.get("userid_list")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            return _error(40058, "userid_list must hold 1..100 userids")
        items = []
        for userid in ids:
            for e in self._externals():
                for f in e.get("follow_user", []):
                    if f["userid"] == userid:
                        items.append({"external_contact": self._contact(e),
                                      "follow_info": {**f, "tag_id": [], "remark_corp_name": "", "remark_mobiles": []}})
        got = self._page("externalcontact/batch/get_by_user", items, body.get("cursor"), body.get("limit"), 100)
        if isinstance(got, Answer):
            return got
        page, nxt = got
        return _json({"errcode": 0, "errmsg": "ok", "external_contact_list": page, "next_cursor": nxt})

    def _externalcontact_get(self, query, body) -> Answer:
        ext = next((e for e in self._externals() if e["external_userid"] == query.get("external_userid")), None)
        if ext is None:
            return _error(84061)
        got = self._page("externalcontact/get", ext.get("follow_user", []), query.get("cursor"), None, 500)
        if isinstance(got, Answer):
            return got
        page, nxt = got
        return _json({"errcode": 0, "errmsg": "ok", "external_contact": self._contact(ext), "follow_user": page,
                      "next_cursor": nxt})

    def _group(self, roomid: object) -> dict | None:
        return next((g for g in self.doc.get("groups", []) if g["roomid"] == roomid), None)

    def _externalcontact_groupchat_get(self, query, body) -> Answer:
        g = self._group(body.get("chat_id"))
        if g is None or g.get("kind") != "customer":
            return _error(40058, "invalid chat_id")
        names = {u["userid"]: u["name"] for u in self._users()}
        names.update({e["external_userid"]: e["name"] for e in self._externals()})
        need_name = body.get("need_name") == 1
        members = [{"userid": m["userid"], "type": m["type"], "join_time": m["join_time"],
                    "join_scene": m["join_scene"], "invitor": {"userid": m["invitor"]} if m["invitor"] else {},
                    "group_nickname": "", **({"name": names.get(m["userid"], "")} if need_name else {})}
                   for m in g["members"]]
        return _json({"errcode": 0, "errmsg": "ok", "group_chat": {
            "chat_id": g["roomid"], "name": g["name"], "owner": g["owner"], "create_time": g["create_time"],
            "notice": g.get("notice", ""), "member_list": members, "admin_list": []}})

    # -- chat archive
    def _msgaudit_groupchat_get(self, query, body) -> Answer:
        g = self._group(body.get("roomid"))
        if g is None or g.get("kind") != "internal":
            return _error(40058, "roomid is not an internal group")
        return _json({"roomname": g["name"], "creator": g["owner"], "room_create_time": g["create_time"],
                      "notice": g.get("notice", ""),
                      "members": [{"memberid": m["userid"], "jointime": m["join_time"]} for m in g["members"]],
                      "errcode": 0, "errmsg": "ok"})

    def _msgaudit_get_permit_user_list(self, query, body) -> Answer:
        kind = body.get("type")
        if kind is not None and kind not in (1, 2, 3):
            return _error(40058, "type must be 1, 2 or 3")
        return _json({"errcode": 0, "errmsg": "ok", "ids": list(self.doc.get("permit_users", []))})

    def _msgaudit_check_single_agree(self, query, body) -> Answer:
        info = body.get("info")
        if not isinstance(info, list) or not 1 <= len(info) <= 100:
            return _error(40058, "info must hold 1..100 items")
        known = {(a["userid"], a["external_userid"]): a for a in self.doc.get("single_agree", [])}
        out = []
        for item in info:
            if not isinstance(item, dict):
                return _error(40058, "info items are objects")
            a = known.get((item.get("userid"), item.get("exteranalopenid")))
            if a is not None:
                out.append({"status_change_time": a["status_change_time"], "userid": a["userid"],
                            "exteranalopenid": a["external_userid"], "agree_status": a["agree_status"]})
        return _json({"errcode": 0, "errmsg": "ok", "agreeinfo": out})

    def _msgaudit_check_room_agree(self, query, body) -> Answer:
        roomid = body.get("roomid")
        if self._group(roomid) is None:
            return _error(40058, "invalid roomid")
        return _json({"errcode": 0, "errmsg": "ok", "agreeinfo": [
            {"status_change_time": a["status_change_time"], "exteranalopenid": a["external_userid"],
             "agree_status": a["agree_status"]} for a in self.doc.get("room_agree", {}).get(roomid, [])]})

    # -- avatars
    def _avatar(self, path: str) -> Answer:
        parts = [p for p in path.split("/") if p]
        if len(parts) != 3 or parts[0] not in ("wwpic", "mmhead") or not all(c in "0123456789abcdef" for c in parts[1]):
            return Answer(404, "text/plain", b"not found\n")
        key = parts[1]
        with self._lock:
            data = self._avatars.get(key)
        if data is None:
            data = draw_avatar(key)
            with self._lock:
                self._avatars[key] = data
        return Answer(200, "image/png", data)


def draw_avatar(key: str, size: int = 120) -> bytes:
    """A deterministic picture for ``key``: a symmetric 5×5 pattern on a colour of its own (PNG)."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(key.encode()).digest()
    fg = (64 + digest[0] % 160, 64 + digest[1] % 160, 64 + digest[2] % 160)
    im = Image.new("RGB", (size, size), (238, 238, 238))
    draw = ImageDraw.Draw(im)
    cell = size // 6
    pad = (size - 5 * cell) // 2
    for y in range(5):
        for x in range(3):
            if digest[3 + y * 3 + x] & 1:
                for xx in {x, 4 - x}:
                    draw.rectangle((pad + xx * cell, pad + y * cell, pad + (xx + 1) * cell - 1,
                                    pad + (y + 1) * cell - 1), fill=fg)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


__all__ = ["ALL_APIS", "AVATAR_HOSTS", "Answer", "Call", "Fault", "WeComServer", "draw_avatar"]
