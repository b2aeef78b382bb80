"""Read services over the archive: what the GUI, the CLI, search and export read.

Every method takes the acting :class:`~app.core.actor.Actor` first and checks it here, whoever
calls (GUI, CLI, a future server):

- content — sessions, their counts, messages, raw JSON, media rows — needs ``messages.read``
  (the reviewer role) and is limited to the actor's scope (app/core/auth/scope.py): a scoped
  reviewer never sees a session outside it, in lists, counts or single lookups (those answer None);
- status — corps, media status counts, quarantine, sync history — needs ``archive.status``
  (every role), and holds no message content.

A refusal raises :class:`~app.core.auth.PermissionDenied` and is recorded in the audit trail
(action ``archive.read``, outcome denied). Page reads are not recorded; what a person deliberately
opens is, through the explicit methods :meth:`ArchiveService.open_session` (``session.open``),
:meth:`ArchiveService.view_message` (``message.view`` / ``message.raw``) and
:meth:`ArchiveService.record_raw_view`.

Rows come back as small frozen dataclasses, never ORM objects, so callers on other threads hold no
database state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, func, literal, or_, select

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.auth.errors import PermissionDenied
from app.core.auth.scope import (
    message_condition,
    require_session_in_scope,
    session_condition,
    session_in_scope,
)
from app.core.store.db import Database
from app.core.store.models import Corp, Media, Message, QuarantineEntry, Session, SyncRun


@dataclass(frozen=True)
class CorpRow:
    id: int
    corpid: str
    name: str


@dataclass(frozen=True)
class SessionRow:
    corp_id: int
    session_id: str
    session_type: str
    roomid: str
    participants: tuple[str, ...]
    first_msgtime: int
    last_msgtime: int
    message_count: int


@dataclass(frozen=True)
class MessageRow:
    id: int
    corp_id: int
    seq: int
    msgid: str
    action: str
    sender: str
    tolist: tuple[str, ...]
    roomid: str
    msgtime: int
    msgtype: str
    session_id: str | None
    session_type: str | None
    supported: bool
    has_media: bool
    recalled_msgid: str | None
    recalled_at: int | None
    content_text: str


@dataclass(frozen=True)
class MessageDetail:
    row: MessageRow
    publickey_ver: int
    raw_json: bytes
    raw_sha256: str


@dataclass(frozen=True)
class MediaRow:
    id: int
    message_id: int
    msgid: str
    ref_path: str
    kind: str
    md5sum: str
    declared_size: int | None
    filename: str | None
    ext: str | None
    status: str
    attempts: int
    last_error: str | None
    storage_backend: str | None
    storage_key: str | None
    sha256: str | None
    stored_size: int | None
    md5_matched: bool | None


@dataclass(frozen=True)
class QuarantineRow:
    id: int
    corp_id: int
    seq: int
    msgid: str
    publickey_ver: int
    stage: str
    error: str
    attempts: int
    first_seen_at: int
    last_tried_at: int
    resolved_at: int | None


@dataclass(frozen=True)
class SyncRunRow:
    id: int
    corp_id: int
    started_at: int
    ended_at: int | None
    outcome: str
    workstation: str
    start_seq: int
    last_seq: int
    fetched: int
    stored: int
    duplicates: int
    quarantined: int
    media_stored: int
    media_failed: int
    media_expired: int
    retries: int
    error: str | None


_MESSAGE_COLUMNS = (Message.id, Message.corp_id, Message.seq, Message.msgid, Message.action, Message.sender,
                    Message.tolist, Message.roomid, Message.msgtime, Message.msgtype, Message.session_id,
                    Message.session_type, Message.supported, Message.has_media, Message.recalled_msgid,
                    Message.recalled_at, Message.content_text)


def session_messages(session_id: str | None, corp_id: int | None = None) -> ColumnElement[bool]:
    """The messages of a conversation (of one corp, or of every corp that has one by that id).
    Every index on messages leads with corp_id, so without a corp every corp is named: the database
    then seeks each corp's rows of the conversation instead of scanning the whole index (reading a
    conversation had cost time in proportion to the archive)."""
    corps = Message.corp_id == corp_id if corp_id is not None else Message.corp_id.in_(select(Corp.id))
    return and_(corps, Message.session_id.is_(None) if session_id is None else Message.session_id == session_id)


def _message_row(r: Row[*tuple[Any, ...]]) -> MessageRow:
    return MessageRow(r.id, r.corp_id, r.seq, r.msgid, r.action, r.sender, tuple(json.loads(r.tolist or "[]")),
                      r.roomid, r.msgtime, r.msgtype, r.session_id, r.session_type, bool(r.supported),
                      bool(r.has_media), r.recalled_msgid, r.recalled_at, r.content_text)


def _session_row(r: Row[*tuple[Any, ...]]) -> SessionRow:
    return SessionRow(r.corp_id, r.session_id, r.session_type, r.roomid, tuple(json.loads(r.participants)),
                      r.first_msgtime, r.last_msgtime, r.message_count)


def _any_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """OR of ``conditions``, in chunks wrapped in a function call: SQLite refuses expressions nested
    over 1,000 deep, a flat ``a OR b OR ...`` is parsed that deep, and SQLAlchemy flattens nested ORs
    (but not across a function)."""
    chunk = 100
    if len(conditions) <= chunk:
        return or_(*conditions)
    return or_(*(func.coalesce(or_(*conditions[i:i + chunk]), False)
                 for i in range(0, len(conditions), chunk)))


def _has_participant_in(db: Database, ids: list[str]) -> ColumnElement[bool]:
    """``sessions.participants`` (a JSON array) holds one of ``ids``: one pass over each array,
    whatever the number of ids (a filter for a common surname matches hundreds of people)."""
    dialect = db.engine.dialect
    version = dialect.server_version_info or ()
    if db.is_sqlite:
        each = func.json_each(Session.participants).table_valued("value")
        return select(literal(1)).select_from(each).where(each.c.value.in_(ids)).exists()
    if version >= ((10, 9) if getattr(dialect, "is_mariadb", False) else (8, 0, 17)):
        return func.json_overlaps(Session.participants, json.dumps(ids, ensure_ascii=False)) == 1
    # Older servers: the id's JSON encoding, quotes included, occurs in the array (case-sensitive).
    return _any_of([func.instr(Session.participants, json.dumps(i, ensure_ascii=False)) > 0 for i in ids])


def _participant_filter(db: Database, ids: Collection[str] | None, text: str | None) -> ColumnElement[bool]:
    """Sessions with a participant in ``ids`` (exact) or one whose id contains ``text`` (any case).

    ``sessions.participants`` is a JSON array written with ``ensure_ascii=False``; ``text`` is
    JSON-escaped the same way and compared with ``instr`` (SQLite and MySQL), a plain substring
    test, so there are no LIKE wildcards to escape and it cannot match across the quotes between
    two ids. A group also matches by its roomid (group names are in the directory by roomid).
    """
    conditions: list[ColumnElement[bool]] = []
    if text:
        needle = json.dumps(text.lower(), ensure_ascii=False)[1:-1]
        conditions.append(func.instr(func.lower(Session.participants), needle) > 0)
        conditions.append(func.instr(func.lower(Session.roomid), text.lower()) > 0)
    if ids:
        ids = sorted(set(ids))
        conditions.append(Session.roomid.in_(ids))
        conditions.append(_has_participant_in(db, ids))
    if not conditions:
        return literal(False)
    return or_(*conditions)


class ArchiveService:
    """Reads of the archive on behalf of an actor. ``trail``: the audit trail refusals and opened
    sessions/messages are recorded in (one is made on ``db`` if not given)."""

    def __init__(self, db: Database, trail: AuditTrail | None = None):
        self.db = db
        self.trail = trail or AuditTrail(db)

    # ------------------------------------------------------------------ checks
    def _status(self, actor: Actor, what: str) -> None:
        self.trail.require(actor, R.ARCHIVE_STATUS, action=Action.ARCHIVE_READ, object_type="archive", object=what)

    def _content(self, actor: Actor, what: str) -> None:
        self.trail.require(actor, R.MESSAGES_READ, action=Action.ARCHIVE_READ, object_type="archive", object=what)

    def _session_scope(self, actor: Actor) -> ColumnElement[bool] | None:
        """WHERE clause on ``sessions`` for the actor's scope (None: no limit)."""
        return None if actor.scope is None else session_condition(self.db, actor.scope)

    def _message_scope(self, actor: Actor) -> ColumnElement[bool] | None:
        return None if actor.scope is None else message_condition(self.db, actor.scope)

    # ------------------------------------------------------------------ status (archive.status)
    def corps(self, actor: Actor) -> list[CorpRow]:
        """The corps of the archive (needs ``archive.status``)."""
        self._status(actor, "corps")
        with self.db.read() as conn:
            return [CorpRow(r.id, r.corpid, r.name) for r in conn.execute(
                select(Corp.id, Corp.corpid, Corp.name).order_by(Corp.corpid))]

    def corp_id(self, actor: Actor, corpid: str | None = None) -> int | None:
        corps = self.corps(actor)
        if corpid is None:
            return corps[0].id if corps else None
        return next((c.id for c in corps if c.corpid == corpid), None)

    # ------------------------------------------------------------------ sessions (messages.read, scoped)
    def sessions(self, actor: Actor, corp_id: int | None = None, session_type: str | None = None, *,
                 limit: int = 1000, offset: int = 0, participant_ids: Collection[str] | None = None,
                 participant_text: str | None = None, order: str = "newest") -> list[SessionRow]:
        """Sessions by last activity, newest first (needs ``messages.read``; only those in the
        actor's scope); ``order`` (one of SESSION_ORDERS): "oldest" last activity first, "most" or
        "fewest" messages first (ties by last activity).

        With ``participant_ids`` and/or ``participant_text`` only the sessions where a participant
        (or, for a group, its roomid) is one of ``participant_ids`` (exact, case-sensitive) or contains
        ``participant_text`` (case-insensitive) — see :func:`_participant_filter`.
        """
        self._content(actor, "sessions")
        q = select(Session)
        if corp_id is not None:
            q = q.where(Session.corp_id == corp_id)
        if session_type:
            q = q.where(Session.session_type == session_type)
        if participant_ids is not None or participant_text is not None:
            q = q.where(_participant_filter(self.db, participant_ids, participant_text))
        scope = self._session_scope(actor)
        if scope is not None:
            q = q.where(scope)
        if order not in SESSION_ORDERS:
            raise ValueError(f"unknown session order {order!r}: use one of {', '.join(SESSION_ORDERS)}")
        newest = (Session.last_msgtime.desc(), Session.id.desc())
        oldest = (Session.last_msgtime.asc(), Session.id.asc())
        keys = {"newest": newest, "oldest": oldest, "most": (Session.message_count.desc(), *newest),
                "fewest": (Session.message_count.asc(), *oldest)}[order]
        q = q.order_by(*keys).limit(limit).offset(offset)
        with self.db.read() as conn:
            return [_session_row(r) for r in conn.execute(q)]

    def session(self, actor: Actor, corp_id: int, session_id: str) -> SessionRow | None:
        """One session by its id, or None (also when it is outside the actor's scope). Needs
        ``messages.read``; not recorded (see :meth:`open_session`)."""
        self._content(actor, f"session {session_id}")
        q = select(Session).where(Session.corp_id == corp_id, Session.session_id == session_id)
        scope = self._session_scope(actor)
        if scope is not None:
            q = q.where(scope)
        with self.db.read() as conn:
            r = conn.execute(q.limit(1)).first()
        return None if r is None else _session_row(r)

    def open_session(self, actor: Actor, corp_id: int, session_id: str) -> SessionRow | None:
        """Open a session for display: the viewer (and ``wecom-auditor messages --session``) call
        this once when a person opens a conversation, then page with :meth:`messages`.

        Records ``session.open``. Raises PermissionDenied (recorded as denied) without
        ``messages.read`` or when the session is outside the actor's scope; None if there is no
        such session (nothing recorded)."""
        self.trail.require(actor, R.MESSAGES_READ, action=Action.SESSION_OPEN, object_type="session",
                           object=session_id, detail={"corp_id": corp_id})
        q = select(Session).where(Session.corp_id == corp_id, Session.session_id == session_id)
        with self.db.read() as conn:
            r = conn.execute(q.limit(1)).first()
        if r is None:
            return None
        row = _session_row(r)
        try:
            require_session_in_scope(actor, session_id, row.participants)
        except PermissionDenied as exc:
            self.trail.refuse(actor, Action.SESSION_OPEN, exc, object_type="session", object=session_id,
                              detail={"corp_id": corp_id})
        self.trail.record(actor, Action.SESSION_OPEN, object_type="session", object=session_id,
                          detail={"corp_id": corp_id, "session_type": row.session_type,
                                  "message_count": row.message_count})
        return row

    def session_counts(self, actor: Actor, corp_id: int | None = None, *,
                       participant_ids: Collection[str] | None = None,
                       participant_text: str | None = None) -> dict[str, int]:
        """Sessions per session type (in the actor's scope; needs ``messages.read``); the
        participant filter is the one of :meth:`sessions`."""
        self._content(actor, "session counts")
        q = select(Session.session_type, func.count()).group_by(Session.session_type)
        if corp_id is not None:
            q = q.where(Session.corp_id == corp_id)
        if participant_ids is not None or participant_text is not None:
            q = q.where(_participant_filter(self.db, participant_ids, participant_text))
        scope = self._session_scope(actor)
        if scope is not None:
            q = q.where(scope)
        with self.db.read() as conn:
            return dict(conn.execute(q).all())

    def room_ids(self, actor: Actor, corp_id: int | None = None) -> set[str]:
        """The roomids of the archive's group sessions in the actor's scope (e.g. to tell rooms from
        people in the directory). Needs ``messages.read``."""
        self._content(actor, "group rooms")
        q = select(Session.roomid).distinct().where(Session.roomid != "")
        if corp_id is not None:
            q = q.where(Session.corp_id == corp_id)
        scope = self._session_scope(actor)
        if scope is not None:
            q = q.where(scope)
        with self.db.read() as conn:
            return set(conn.execute(q).scalars())

    # ------------------------------------------------------------------ messages (messages.read, scoped)
    def messages(self, actor: Actor, *, corp_id: int | None = None, session_id: str | None = None,
                 start_ms: int | None = None, end_ms: int | None = None, limit: int = 500,
                 after: tuple[int, int] | None = None, before: tuple[int, int] | None = None,
                 newest_first: bool = False) -> list[MessageRow]:
        """Messages in time order, optionally of one session and a window ``[start_ms, end_ms)``;
        only those in the actor's scope (a session outside it reads as empty). Needs
        ``messages.read``; pages are not recorded (:meth:`open_session` is).

        Paging is by key: pass the (msgtime, id) of the last row seen as ``after`` (or of the first
        row as ``before`` with ``newest_first``) to get the next page.
        """
        self._content(actor, f"messages of session {session_id}" if session_id else "messages")
        if corp_id is None and session_id is None:
            # Every index on messages leads with corp_id: one read per corp, each in index order,
            # merged here (one read over every corp sorted the whole archive to find a page).
            with self.db.read() as conn:
                corp_ids = list(conn.execute(select(Corp.id).order_by(Corp.id)).scalars())
            rows = [r for c in corp_ids for r in self.messages(
                actor, corp_id=c, start_ms=start_ms, end_ms=end_ms, limit=limit, after=after, before=before,
                newest_first=newest_first)]
            rows.sort(key=lambda r: (r.msgtime, r.id), reverse=newest_first)
            return rows[:limit]
        q = select(*_MESSAGE_COLUMNS)
        if corp_id is not None and session_id is None:
            q = q.where(Message.corp_id == corp_id)
        if session_id is not None:
            q = q.where(session_messages(session_id, corp_id))
            if actor.scope is not None:
                # One check of the session instead of a scope test per message row.
                corps = select(Session.corp_id).where(Session.session_id == session_id,
                                                      session_condition(self.db, actor.scope))
                if corp_id is not None:
                    corps = corps.where(Session.corp_id == corp_id)
                q = q.where(Message.corp_id.in_(corps))
        else:
            scope = self._message_scope(actor)
            if scope is not None:
                q = q.where(scope)
        if start_ms is not None:
            q = q.where(Message.msgtime >= start_ms)
        if end_ms is not None:
            q = q.where(Message.msgtime < end_ms)
        if after is not None:
            q = q.where(or_(Message.msgtime > after[0], and_(Message.msgtime == after[0], Message.id > after[1])))
        if before is not None:
            q = q.where(or_(Message.msgtime < before[0], and_(Message.msgtime == before[0], Message.id < before[1])))
        order = (Message.msgtime.desc(), Message.id.desc()) if newest_first else (Message.msgtime, Message.id)
        with self.db.read() as conn:
            return [_message_row(r) for r in conn.execute(q.order_by(*order).limit(limit))]

    def _detail(self, *, msgid: str | None, message_id: int | None, corp_id: int | None,
                scope: ColumnElement[bool] | None) -> MessageDetail | None:
        q = select(*_MESSAGE_COLUMNS, Message.publickey_ver, Message.raw_json, Message.raw_sha256)
        if message_id is not None:
            q = q.where(Message.id == message_id)
        elif msgid is not None:
            q = q.where(Message.msgid == msgid)
        else:
            raise ValueError("give msgid or message_id")
        if corp_id is not None:
            q = q.where(Message.corp_id == corp_id)
        if scope is not None:
            q = q.where(scope)
        with self.db.read() as conn:
            r = conn.execute(q.limit(1)).first()
        if r is None:
            return None
        return MessageDetail(_message_row(r), r.publickey_ver, bytes(r.raw_json), r.raw_sha256)

    def message(self, actor: Actor, *, msgid: str | None = None, message_id: int | None = None,
                corp_id: int | None = None) -> MessageDetail | None:
        """One message with its raw JSON as received, its SHA-256 and seq; None if there is none
        in the actor's scope. Needs ``messages.read``; not recorded — a details dialog calls
        :meth:`view_message`, which is."""
        self._content(actor, f"message {msgid or message_id}")
        return self._detail(msgid=msgid, message_id=message_id, corp_id=corp_id, scope=self._message_scope(actor))

    def view_message(self, actor: Actor, *, message_id: int | None = None, msgid: str | None = None,
                     corp_id: int | None = None, raw: bool = False) -> MessageDetail | None:
        """One message for a person to look at (the details dialog): as :meth:`message`, and
        records ``message.view`` — or ``message.raw`` with ``raw=True``, when its raw JSON is shown
        (one entry either way). PermissionDenied (recorded) without ``messages.read`` or when the
        message's session is outside the actor's scope; None if there is no such message."""
        action = Action.MESSAGE_RAW if raw else Action.MESSAGE_VIEW
        asked = str(msgid if msgid is not None else message_id)
        self.trail.require(actor, R.MESSAGES_READ, action=action, object_type="message", object=asked)
        detail = self._detail(msgid=msgid, message_id=message_id, corp_id=corp_id, scope=None)
        if detail is None:
            return None
        if not self._in_scope(actor, detail.row):
            error = PermissionDenied(f"message {detail.row.msgid} is in a session outside the scope of account "
                                     f"'{actor.username}'",
                                     f"消息 {detail.row.msgid} 所在的会话不在账号“{actor.username}”的范围内",
                                     username=actor.username, permission="scope")
            self.trail.refuse(actor, action, error, object_type="message", object=detail.row.msgid,
                              detail=_message_detail(detail.row))
        self.trail.record(actor, action, object_type="message", object=detail.row.msgid,
                          detail=_message_detail(detail.row))
        return detail

    def record_raw_view(self, actor: Actor, detail: MessageDetail) -> None:
        """Record ``message.raw`` for a message already read with :meth:`view_message` whose raw JSON
        is now shown (e.g. a details dialog's raw tab opened later). Needs ``messages.read``."""
        row = detail.row
        self.trail.require(actor, R.MESSAGES_READ, action=Action.MESSAGE_RAW, object_type="message",
                           object=row.msgid)
        if not self._in_scope(actor, row):
            error = PermissionDenied(f"message {row.msgid} is in a session outside the scope of account "
                                     f"'{actor.username}'", f"消息 {row.msgid} 所在的会话不在账号“{actor.username}”的范围内",
                                     username=actor.username, permission="scope")
            self.trail.refuse(actor, Action.MESSAGE_RAW, error, object_type="message", object=row.msgid,
                              detail=_message_detail(row))
        self.trail.record(actor, Action.MESSAGE_RAW, object_type="message", object=row.msgid,
                          detail=_message_detail(row))

    def _in_scope(self, actor: Actor, row: MessageRow) -> bool:
        if actor.scope is None:
            return True
        if row.session_id is None:
            return row.sender in actor.scope
        with self.db.read() as conn:
            participants = conn.execute(select(Session.participants).where(
                Session.corp_id == row.corp_id, Session.session_id == row.session_id).limit(1)).scalar()
        return participants is not None and session_in_scope(actor.scope, json.loads(participants))

    def _ids_in_scope(self, conn: Connection, actor: Actor, message_ids: list[int]) -> list[int]:
        if actor.scope is None:
            return message_ids
        kept: list[int] = []
        for i in range(0, len(message_ids), 500):
            kept.extend(conn.execute(select(Message.id).where(Message.id.in_(message_ids[i:i + 500]),
                                                              message_condition(self.db, actor.scope))).scalars())
        return kept

    def media_of(self, actor: Actor, message_id: int) -> list[MediaRow]:
        return self.media_of_messages(actor, [message_id]).get(message_id, [])

    def media_of_messages(self, actor: Actor, message_ids: list[int]) -> dict[int, list[MediaRow]]:
        """The media rows of several messages at once (a viewer page), by message id; messages
        outside the actor's scope have none. Needs ``messages.read``."""
        self._content(actor, "media rows")
        out: dict[int, list[MediaRow]] = {}
        with self.db.read() as conn:
            message_ids = self._ids_in_scope(conn, actor, list(message_ids))
            for i in range(0, len(message_ids), 500):
                q = (select(*Media.__table__.c).where(Media.message_id.in_(message_ids[i:i + 500]))
                     .order_by(Media.message_id, Media.ref_path))
                for m in conn.execute(q):
                    out.setdefault(m.message_id, []).append(MediaRow(
                        m.id, m.message_id, m.msgid, m.ref_path, m.kind, m.md5sum, m.declared_size, m.filename,
                        m.ext, m.status, m.attempts, m.last_error, m.storage_backend, m.storage_key, m.sha256,
                        m.stored_size, m.md5_matched))
        return out

    def media_by_ids(self, actor: Actor, media_ids: Collection[int]) -> dict[int, MediaRow]:
        """Media rows by their own ids (the objects of ``media.*`` audit entries), those of messages
        in the actor's scope. Needs ``messages.read``; not recorded."""
        self._content(actor, "media rows")
        ids = sorted(set(media_ids))
        found: dict[int, MediaRow] = {}
        with self.db.read() as conn:
            for i in range(0, len(ids), 500):
                for m in conn.execute(select(*Media.__table__.c).where(Media.id.in_(ids[i:i + 500]))):
                    found[m.id] = MediaRow(
                        m.id, m.message_id, m.msgid, m.ref_path, m.kind, m.md5sum, m.declared_size, m.filename,
                        m.ext, m.status, m.attempts, m.last_error, m.storage_backend, m.storage_key, m.sha256,
                        m.stored_size, m.md5_matched)
            kept = set(self._ids_in_scope(conn, actor, sorted({m.message_id for m in found.values()})))
        return {mid: m for mid, m in found.items() if m.message_id in kept}

    def raw_json_of(self, actor: Actor, message_ids: list[int]) -> dict[int, bytes]:
        """The raw JSON as received of several messages at once, by message id (those in the
        actor's scope). Needs ``messages.read``; not recorded."""
        self._content(actor, "raw JSON")
        scope = self._message_scope(actor)
        out: dict[int, bytes] = {}
        with self.db.read() as conn:
            for i in range(0, len(message_ids), 500):
                q = select(Message.id, Message.raw_json).where(Message.id.in_(message_ids[i:i + 500]))
                if scope is not None:
                    q = q.where(scope)
                out.update((r.id, bytes(r.raw_json)) for r in conn.execute(q))
        return out

    # ------------------------------------------------------------------ status (archive.status)
    def media_status_counts(self, actor: Actor, corp_id: int | None = None) -> dict[str, int]:
        """Media rows per status, archive-wide (needs ``archive.status``; no content)."""
        self._status(actor, "media status counts")
        q = select(Media.status, func.count()).group_by(Media.status)
        if corp_id is not None:
            q = q.where(Media.corp_id == corp_id)
        with self.db.read() as conn:
            return dict(conn.execute(q).all())

    def quarantine(self, actor: Actor, corp_id: int | None = None, *, include_resolved: bool = False,
                   limit: int = 1000) -> list[QuarantineRow]:
        """Entries that could not be decrypted or parsed (needs ``archive.status``: ids and
        errors, no content)."""
        self._status(actor, "quarantine")
        q = select(*QuarantineEntry.__table__.c)
        if corp_id is not None:
            q = q.where(QuarantineEntry.corp_id == corp_id)
        if not include_resolved:
            q = q.where(QuarantineEntry.resolved_at.is_(None))
        with self.db.read() as conn:
            return [QuarantineRow(e.id, e.corp_id, e.seq, e.msgid, e.publickey_ver, e.stage, e.error, e.attempts,
                                  e.first_seen_at, e.last_tried_at, e.resolved_at)
                    for e in conn.execute(q.order_by(QuarantineEntry.seq).limit(limit))]

    def sync_runs(self, actor: Actor, corp_id: int | None = None, limit: int = 100) -> list[SyncRunRow]:
        """The sync history, newest first (needs ``archive.status``)."""
        self._status(actor, "sync history")
        q = select(*[c for c in SyncRun.__table__.c]).order_by(SyncRun.started_at.desc()).limit(limit)
        if corp_id is not None:
            q = q.where(SyncRun.corp_id == corp_id)
        with self.db.read() as conn:
            return [SyncRunRow(**r._asdict()) for r in conn.execute(q)]


SESSION_ORDERS = ("newest", "oldest", "most", "fewest")


def session_sort_key(order: str) -> Callable[[SessionRow], tuple[Any, ...]]:
    """The key that sorts SessionRows in memory as :meth:`ArchiveService.sessions` orders them."""
    return {"newest": lambda r: (-r.last_msgtime, r.session_id), "oldest": lambda r: (r.last_msgtime, r.session_id),
            "most": lambda r: (-r.message_count, -r.last_msgtime, r.session_id),
            "fewest": lambda r: (r.message_count, r.last_msgtime, r.session_id)}[order]


def _message_detail(row: MessageRow) -> dict[str, object]:
    return {"message_id": row.id, "corp_id": row.corp_id, "session_id": row.session_id, "seq": row.seq,
            "msgtype": row.msgtype}
