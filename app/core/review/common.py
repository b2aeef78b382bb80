"""What the review services share: the error, who a reviewer is, and checks of targets (a session, a
set of messages) against the archive and the actor's scope."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import tzinfo
from typing import NoReturn

from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.auth.errors import PermissionDenied
from app.core.auth.scope import session_in_scope
from app.core.errors import SaidInTwoLanguages
from app.core.store.db import Database
from app.core.store.models import Message, Session

MAX_TEXT = 10_000  # characters of a note, a reason, a description
MAX_NAME = 120  # characters of a name (tag label, saved search, policy, sampling rule)
MAX_TARGETS = 200_000  # messages one action may tag or mark (a search's results included)
CHUNK = 500


class ReviewError(SaidInTwoLanguages, ValueError):
    """A review request that cannot be done, in one sentence that never quotes message content,
    written in English and in Chinese (tests/review/test_bilingual_errors.py holds every raise to it)."""


def reviewer_key(actor: Actor) -> str:
    """The stable key of a reviewer: ``#<account id>`` (a renamed account keeps its marks and notes),
    or the user name of an actor without an account (the local and system actors)."""
    return f"#{actor.account_id}" if actor.account_id is not None else actor.username[:64]


def fold(text: str) -> str:
    """How names are compared (tag labels, policy names): NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def check_text(value: str, what: tuple[str, str], *, limit: int = MAX_TEXT, required: bool = True) -> str:
    """``value`` trimmed, or ReviewError naming ``what`` (English, Chinese): empty (when required),
    too long, or holding a NUL or bytes that are not text."""
    en, zh = what
    value = (value or "").strip()
    if required and not value:
        raise ReviewError(f"the {en} is empty: write one", f"{zh}为空：请填写")
    if len(value) > limit:
        raise ReviewError(f"the {en} has {len(value):,} characters; at most {limit:,} are kept",
                          f"{zh}有 {len(value):,} 个字符，最多保留 {limit:,} 个")
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise ReviewError(f"the {en} holds characters that are not text (a NUL, or bytes that are not UTF-8)",
                          f"{zh}含有非文本字符（NUL 或非 UTF-8 字节）")
    return value


@dataclass(frozen=True)
class Target:
    """A message (or, with ``message_id`` 0, a whole session) a review action concerns."""

    corp_id: int
    session_id: str
    message_id: int = 0
    msgtime: int = 0


class Base:
    """Database, audit trail and the checks every review service makes."""

    def __init__(self, db: Database, trail: AuditTrail | None = None, *, tz: tzinfo | None = None):
        self.db = db
        self.trail = trail or AuditTrail(db)
        self.tz = tz

    # ------------------------------------------------------------------ permission
    def _require(self, actor: Actor, permission: str, action: str, object_type: str = "",
                 object: str | Iterable = "") -> None:
        self.trail.require(actor, permission, action=action, object_type=object_type, object=object)

    def _read(self, actor: Actor, object_type: str = "review", object: str = "") -> None:
        self._require(actor, R.REVIEW_READ, Action.REVIEW_READ, object_type, object)

    @staticmethod
    def _content(actor: Actor) -> bool:
        """Whether ``actor`` may see content: message text, and the text of notes and reasons
        (auditors see who did what and when, not what was written)."""
        return R.can(actor, R.MESSAGES_READ)

    # ------------------------------------------------------------------ targets
    def _session(self, conn, actor: Actor, corp_id: int, session_id: str, action: str) -> Target:
        """The session as a target: ReviewError if the archive has no such session, PermissionDenied
        (recorded) if it is outside the actor's scope."""
        row = conn.execute(select(Session.participants).where(Session.corp_id == corp_id,
                                                              Session.session_id == session_id)).first()
        if row is None:
            raise ReviewError(f"the archive has no session {session_id} in corp #{corp_id}",
                              f"存档中企业 #{corp_id} 没有会话 {session_id}")
        if not session_in_scope(actor.scope, json.loads(row.participants or "[]")):
            self._deny(actor, action, "session", session_id)
        return Target(corp_id, session_id)

    def _messages(self, conn, actor: Actor, message_ids: Sequence[int], action: str) -> list[Target]:
        """The messages as targets, in the order given, duplicates dropped: ReviewError if one is not
        in the archive, PermissionDenied (recorded, nothing done) if one is outside the scope."""
        ids = list(dict.fromkeys(int(i) for i in message_ids))
        if not ids:
            raise ReviewError("no message is chosen", "未选择消息")
        if len(ids) > MAX_TARGETS:
            raise ReviewError(f"{len(ids):,} messages are chosen; one action takes at most {MAX_TARGETS:,}",
                              f"已选择 {len(ids):,} 条消息，一次操作最多 {MAX_TARGETS:,} 条")
        found: dict[int, Target] = {}
        for i in range(0, len(ids), CHUNK):
            for r in conn.execute(select(Message.id, Message.corp_id, Message.session_id, Message.msgtime)
                                  .where(Message.id.in_(ids[i:i + CHUNK]))):
                found[r.id] = Target(r.corp_id, r.session_id or "", r.id, r.msgtime)
        missing = [i for i in ids if i not in found]
        if missing:
            more = len(missing) - 1
            raise ReviewError(f"the archive has no message #{missing[0]}" + (f" (and {more:,} more)" if more else ""),
                              f"存档中没有消息 #{missing[0]}" + (f"（另有 {more:,} 条）" if more else ""))
        if actor.scope is not None:
            keys = sorted({(t.corp_id, t.session_id) for t in found.values()})
            allowed = self._sessions_in_scope(conn, actor, keys)
            outside = [t for t in found.values() if (t.corp_id, t.session_id) not in allowed]
            if outside:
                self._deny(actor, action, "message", [t.message_id for t in outside[:20]])
        return [found[i] for i in ids]

    @staticmethod
    def _sessions_in_scope(conn, actor: Actor, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        if actor.scope is None:
            return set(keys)
        out: set[tuple[int, str]] = set()
        by_corp: dict[int, list[str]] = {}
        for corp, sid in keys:
            by_corp.setdefault(corp, []).append(sid)
        for corp, sids in by_corp.items():
            for i in range(0, len(sids), CHUNK):
                for r in conn.execute(select(Session.session_id, Session.participants).where(
                        Session.corp_id == corp, Session.session_id.in_(sids[i:i + CHUNK]))):
                    if session_in_scope(actor.scope, json.loads(r.participants or "[]")):
                        out.add((corp, r.session_id))
        return out

    def _deny(self, actor: Actor, action: str, object_type: str, object) -> NoReturn:
        what, what_zh = {"session": ("session", "会话"), "alert": ("alert", "告警")}.get(object_type, ("message", "消息"))
        error = PermissionDenied(f"the {what} is outside the scope of account '{actor.username}'",
                                 f"该{what_zh}不在账号“{actor.username}”的范围内",
                                 username=actor.username, permission="scope")
        self._refuse(actor, action, error, object_type, object)

    @staticmethod
    def _refuse(actor: Actor, action: str, error: PermissionDenied, object_type: str, object) -> NoReturn:
        """Refuse from inside a transaction: it is rolled back, then the refusal recorded (by
        :meth:`_write` / :meth:`_reading`; recording inside would wait on the transaction's own lock)."""
        raise _Refusal(actor, action, error, object_type, object)

    @contextmanager
    def _write(self):
        """``db.write()`` that records a refusal raised inside it after rolling back."""
        try:
            with self.db.write() as conn:
                yield conn
        except _Refusal as r:
            self.trail.refuse(r.actor, r.action, r.error, object_type=r.object_type, object=r.object)

    @contextmanager
    def _reading(self):
        try:
            with self.db.read() as conn:
                yield conn
        except _Refusal as r:
            self.trail.refuse(r.actor, r.action, r.error, object_type=r.object_type, object=r.object)


class _Refusal(Exception):
    def __init__(self, actor: Actor, action: str, error: PermissionDenied, object_type: str, object):
        super().__init__(str(error))
        self.actor, self.action, self.error, self.object_type, self.object = actor, action, error, object_type, object


def locate_session(db: Database, session_id: str, corpid: str | None = None) -> tuple[int, str]:
    """(corp id, session id) of a session named on the command line: ReviewError if the archive has
    none, or several in different corps and ``corpid`` (WeCom's corp id) does not choose."""
    from app.core.store.models import Corp

    q = select(Session.corp_id, Corp.corpid).join(Corp, Corp.id == Session.corp_id).where(
        Session.session_id == session_id)
    with db.read() as conn:
        rows = conn.execute(q).all()
    if corpid is not None:
        rows = [r for r in rows if r.corpid == corpid]
    if not rows:
        raise ReviewError(f"the archive has no session {session_id}" + (f" in corp {corpid}" if corpid else ""),
                          (f"存档中企业 {corpid} 没有" if corpid else "存档中没有") + f"会话 {session_id}")
    if len(rows) > 1:
        raise ReviewError(f"session {session_id} is in several corps: choose one with --corp",
                          f"会话 {session_id} 属于多个企业：请用 --corp 指定一个")
    return rows[0].corp_id, session_id


def locate_messages(db: Database, msgids: Sequence[str], corpid: str | None = None) -> list[int]:
    """The archive's ids of messages named by WeCom's msgid: ReviewError naming one it does not hold
    (or that is in several corps while ``corpid`` does not choose)."""
    from app.core.store.models import Corp

    wanted = list(dict.fromkeys(msgids))
    found: dict[str, list[int]] = {}
    with db.read() as conn:
        for i in range(0, len(wanted), CHUNK):
            q = select(Message.id, Message.msgid).join(Corp, Corp.id == Message.corp_id).where(
                Message.msgid.in_(wanted[i:i + CHUNK]))
            if corpid is not None:
                q = q.where(Corp.corpid == corpid)
            for r in conn.execute(q):
                found.setdefault(r.msgid, []).append(r.id)
    out = []
    for m in wanted:
        ids = found.get(m, [])
        if not ids:
            raise ReviewError(f"the archive has no message {m}" + (f" in corp {corpid}" if corpid else ""),
                              (f"存档中企业 {corpid} 没有" if corpid else "存档中没有") + f"消息 {m}")
        if len(ids) > 1:
            raise ReviewError(f"message {m} is in several corps: choose one with --corp",
                              f"消息 {m} 属于多个企业：请用 --corp 指定一个")
        out.append(ids[0])
    return out


@dataclass(frozen=True)
class MessageRef:
    """What a listing shows of a message without its content."""

    id: int
    corp_id: int
    session_id: str
    msgid: str
    sender: str
    msgtime: int
    msgtype: str


def message_refs(db: Database, message_ids: Sequence[int]) -> dict[int, MessageRef]:
    """The MessageRef of messages by id (no content), for listings of alerts, samples and notes."""
    out = {}
    ids = sorted(set(message_ids))
    with db.read() as conn:
        for i in range(0, len(ids), CHUNK):
            for r in conn.execute(select(Message.id, Message.corp_id, Message.session_id, Message.msgid,
                                         Message.sender, Message.msgtime, Message.msgtype)
                                  .where(Message.id.in_(ids[i:i + CHUNK]))):
                out[r.id] = MessageRef(r.id, r.corp_id, r.session_id or "", r.msgid, r.sender, r.msgtime, r.msgtype)
    return out
