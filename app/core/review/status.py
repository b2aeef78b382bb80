"""Review status of messages and sessions, "reviewed up to here" marks, and what is new since a
reviewer's last review.

A message's status is, first rule that applies:

1. the status set on the message itself (``set_messages``: unreviewed, in_review or reviewed);
2. ``reviewed`` when a reviewer marked its session reviewed up to it or a later message
   (``mark_reviewed``: "mark session reviewed up to here"; a whole session is marked up to its
   newest message, so messages that arrive later are not reviewed);
3. ``in_review`` when its session was put in review (``set_session(..., "in_review")``);
4. ``unreviewed``.

A session is ``reviewed`` when a mark covers its newest message, ``in_review`` when it is marked
in part or was put in review, else ``unreviewed``. Each reviewer has their own mark per session:
"new since my last review" counts the messages after mine. Resetting a session to unreviewed
removes its marks and status (the audit trail keeps what they were). Marks only move forward:
marking an earlier message again changes nothing.

Every change needs ``review.write`` within the actor's scope and is recorded (``review.status``);
reads need ``review.read``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.store.db import now_ms
from app.core.store.models import Message

from . import tables as T
from .common import CHUNK, Base, ReviewError, Target, reviewer_key
from .tags import ids_for_audit

STATUSES = ("unreviewed", "in_review", "reviewed")
CLEAR = "clear"  # set_messages: drop the message's own status, so the session's decides again


@dataclass(frozen=True)
class MarkRow:
    reviewer_key: str
    reviewer: str
    upto_msgtime: int
    upto_id: int
    marked_at: int


@dataclass(frozen=True)
class MessageReview:
    """One message's review state: ``status`` (effective), ``explicit`` when set on the message
    itself, and who set it or whose mark covers it, and when."""

    status: str
    explicit: bool = False
    by: str | None = None
    at: int | None = None


@dataclass(frozen=True)
class SessionReview:
    corp_id: int
    session_id: str
    status: str  # unreviewed / in_review / reviewed
    in_review_by: str | None  # who put it in review (explicitly), and when
    in_review_at: int | None
    marks: tuple[MarkRow, ...]  # every reviewer's mark, newest position first
    mine: MarkRow | None
    new_for_me: int | None  # messages after my mark; None if I never reviewed it
    unreviewed_after_marks: int  # messages after the furthest mark (all of them without a mark)


def _after(t: int, i: int):
    return or_(Message.msgtime > t, and_(Message.msgtime == t, Message.id > i))


def _session_status(marked: bool, after_furthest_mark: bool, explicit: str | None) -> str:
    """The session status rule (see the module docstring): reviewed once marked up to its last
    message; in review while marked short of it or put in review; else unreviewed."""
    if marked and not after_furthest_mark:
        return "reviewed"
    if marked or explicit == "in_review":
        return "in_review"
    return "unreviewed"


class StatusService(Base):
    """Review status and marks (see the module docstring). Thread-safe; call off the GUI thread."""

    # ------------------------------------------------------------------ changes
    def set_messages(self, actor: Actor, message_ids: Sequence[int], status: str) -> int:
        """Set the status of these messages themselves (or ``CLEAR`` it); returns how many changed."""
        if status not in (*STATUSES, CLEAR):
            raise ReviewError(f"'{status}' is not a review status: use one of {', '.join(STATUSES)} or {CLEAR}",
                              f"“{status}”不是审阅状态：请使用 {', '.join(STATUSES)} 或 {CLEAR}")
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_STATUS, "message", list(message_ids)[:1000])
        s = T.states.c
        with self._write() as conn:
            targets = self._messages(conn, actor, message_ids, Action.REVIEW_STATUS)
            changed = 0
            now, key = now_ms(), reviewer_key(actor)
            for corp, sid, mids in _by_session(targets):
                for i in range(0, len(mids), CHUNK):
                    part = mids[i:i + CHUNK]
                    where = (s.corp_id == corp, s.session_id == sid, s.message_id.in_(part))
                    if status == CLEAR:
                        changed += conn.execute(delete(T.states).where(*where)).rowcount or 0
                        continue
                    have = dict(conn.execute(select(s.message_id, s.status).where(*where)).all())
                    same = {m for m, st in have.items() if st == status}
                    update_ids = [m for m in have if m not in same]
                    if update_ids:
                        conn.execute(update(T.states).where(s.corp_id == corp, s.session_id == sid,
                                                            s.message_id.in_(update_ids))
                                     .values(status=status, set_by_key=key, set_by=actor.username, set_at=now))
                    rows = [{"corp_id": corp, "session_id": sid, "message_id": m, "status": status,
                             "set_by_key": key, "set_by": actor.username, "set_at": now}
                            for m in part if m not in have]
                    if rows:
                        conn.execute(insert(T.states), rows)
                    changed += len(update_ids) + len(rows)
            obj, detail = ids_for_audit([t.message_id for t in targets])
            self.trail.record(actor, Action.REVIEW_STATUS, object_type="message", object=obj,
                              detail={**detail, "status": status, "changed": changed}, conn=conn)
        return changed

    def set_session(self, actor: Actor, corp_id: int, session_id: str, status: str) -> SessionReview:
        """``in_review``: put the session in review; ``reviewed``: mark it reviewed up to its newest
        message (as :meth:`mark_reviewed`); ``unreviewed``: reset it (its status and every
        reviewer's mark are removed; the audit entry lists them)."""
        if status not in STATUSES:
            raise ReviewError(f"'{status}' is not a review status: use one of {', '.join(STATUSES)}",
                              f"“{status}”不是审阅状态：请使用 {', '.join(STATUSES)} 之一")
        if status == "reviewed":
            return self.mark_reviewed(actor, corp_id, session_id)
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_STATUS, "session", session_id)
        s, m = T.states.c, T.marks.c
        with self._write() as conn:
            self._session(conn, actor, corp_id, session_id, Action.REVIEW_STATUS)
            where = (s.corp_id == corp_id, s.session_id == session_id, s.message_id == T.SESSION)
            conn.execute(delete(T.states).where(*where))
            detail: dict = {"corp_id": corp_id, "status": status}
            if status == "in_review":
                conn.execute(insert(T.states).values(corp_id=corp_id, session_id=session_id, message_id=T.SESSION,
                                                     status=status, set_by_key=reviewer_key(actor),
                                                     set_by=actor.username, set_at=now_ms()))
            else:
                removed = conn.execute(select(m.reviewer, m.upto_msgtime, m.upto_id).where(
                    m.corp_id == corp_id, m.session_id == session_id)).all()
                conn.execute(delete(T.marks).where(m.corp_id == corp_id, m.session_id == session_id))
                detail["marks_removed"] = [{"reviewer": r.reviewer, "upto_msgtime": r.upto_msgtime,
                                            "upto_id": r.upto_id} for r in removed]
            self.trail.record(actor, Action.REVIEW_STATUS, object_type="session", object=session_id,
                              detail=detail, conn=conn)
        return self.session_review(actor, corp_id, session_id)

    def mark_reviewed(self, actor: Actor, corp_id: int, session_id: str, upto_message_id: int | None = None
                      ) -> SessionReview:
        """"Mark session reviewed up to here": the actor's mark moves to ``upto_message_id`` (a
        message of the session), or to the session's newest message. A mark never moves back."""
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_STATUS, "session", session_id)
        m = T.marks.c
        key = reviewer_key(actor)
        with self._write() as conn:
            self._session(conn, actor, corp_id, session_id, Action.REVIEW_STATUS)
            q = select(Message.id, Message.msgtime).where(Message.corp_id == corp_id, Message.session_id == session_id)
            if upto_message_id is None:
                row = conn.execute(q.order_by(Message.msgtime.desc(), Message.id.desc()).limit(1)).first()
                if row is None:
                    raise ReviewError(f"session {session_id} has no message to mark",
                                      f"会话 {session_id} 没有可标记的消息")
            else:
                row = conn.execute(q.where(Message.id == upto_message_id)).first()
                if row is None:
                    raise ReviewError(f"message #{upto_message_id} is not in session {session_id}",
                                      f"消息 #{upto_message_id} 不在会话 {session_id} 中")
            new = (row.msgtime, row.id)
            old = conn.execute(select(m.upto_msgtime, m.upto_id).where(
                m.reviewer_key == key, m.corp_id == corp_id, m.session_id == session_id)).first()
            moved = old is None or new > (old.upto_msgtime, old.upto_id)
            if moved:
                values = {"upto_msgtime": new[0], "upto_id": new[1], "reviewer": actor.username, "marked_at": now_ms()}
                if old is None:
                    conn.execute(insert(T.marks).values(reviewer_key=key, corp_id=corp_id, session_id=session_id,
                                                        **values))
                else:
                    conn.execute(update(T.marks).where(m.reviewer_key == key, m.corp_id == corp_id,
                                                       m.session_id == session_id).values(**values))
                # "in review" was the way there: a session marked to its end is reviewed
                s = T.states.c
                newest = conn.execute(q.order_by(Message.msgtime.desc(), Message.id.desc()).limit(1)).first()
                if newest is not None and (newest.msgtime, newest.id) == new:
                    conn.execute(delete(T.states).where(s.corp_id == corp_id, s.session_id == session_id,
                                                        s.message_id == T.SESSION))
            self.trail.record(actor, Action.REVIEW_STATUS, object_type="session", object=session_id,
                              detail={"corp_id": corp_id, "status": "reviewed", "upto_message_id": new[1],
                                      "upto_msgtime": new[0], "moved": moved,
                                      "previous": list(old) if old is not None else None}, conn=conn)
        return self.session_review(actor, corp_id, session_id)

    # ------------------------------------------------------------------ reading
    def session_review(self, actor: Actor, corp_id: int, session_id: str) -> SessionReview:
        """The session's review state (``review.read``); ReviewError outside the scope or archive."""
        self._read(actor, "session", session_id)
        with self._reading() as conn:
            self._session(conn, actor, corp_id, session_id, Action.REVIEW_READ)
            return self._session_review(conn, actor, corp_id, session_id)

    def _session_review(self, conn, actor: Actor, corp_id: int, session_id: str) -> SessionReview:
        m, s = T.marks.c, T.states.c
        marks = tuple(MarkRow(r.reviewer_key, r.reviewer, r.upto_msgtime, r.upto_id, r.marked_at)
                      for r in conn.execute(select(T.marks).where(m.corp_id == corp_id, m.session_id == session_id)
                                            .order_by(m.upto_msgtime.desc(), m.upto_id.desc())))
        explicit = conn.execute(select(s.status, s.set_by, s.set_at).where(
            s.corp_id == corp_id, s.session_id == session_id, s.message_id == T.SESSION)).first()
        base = select(func.count()).select_from(Message).where(Message.corp_id == corp_id,
                                                               Message.session_id == session_id)
        after = base.where(_after(marks[0].upto_msgtime, marks[0].upto_id)) if marks else base
        remaining = conn.execute(after).scalar_one()
        key = reviewer_key(actor)
        mine = next((k for k in marks if k.reviewer_key == key), None)
        new = conn.execute(base.where(_after(mine.upto_msgtime, mine.upto_id))).scalar_one() if mine else None
        status = _session_status(bool(marks), remaining > 0, explicit.status if explicit is not None else None)
        return SessionReview(corp_id, session_id, status, explicit.set_by if explicit else None,
                             explicit.set_at if explicit else None, marks, mine, new, remaining)

    @staticmethod
    def session_status(conn, corp_id: int, session_id: str) -> str:
        """Unchecked: the session's status (see the module docstring)."""
        m, s = T.marks.c, T.states.c
        marks = [(r.upto_msgtime, r.upto_id) for r in conn.execute(
            select(m.upto_msgtime, m.upto_id).where(m.corp_id == corp_id, m.session_id == session_id))]
        after = False
        if marks:
            after = conn.execute(select(Message.id).where(Message.corp_id == corp_id, Message.session_id == session_id,
                                                          _after(*max(marks))).limit(1)).first() is not None
        explicit = conn.execute(select(s.status).where(s.corp_id == corp_id, s.session_id == session_id,
                                                       s.message_id == T.SESSION)).scalar()
        return _session_status(bool(marks), after, explicit)

    def of_messages(self, actor: Actor, corp_id: int, session_id: str,
                    messages: Sequence[tuple[int, int]]) -> dict[int, MessageReview]:
        """The review state of messages of one session, given as (message id, msgtime)
        (``review.read``; an out-of-scope session answers nothing)."""
        self._read(actor, "session", session_id)
        with self._reading() as conn:
            if not self._sessions_in_scope(conn, actor, [(corp_id, session_id)]):
                return {}
            return self.states(conn, corp_id, session_id, messages)

    @staticmethod
    def states(conn, corp_id: int, session_id: str, messages: Sequence[tuple[int, int]]) -> dict[int, MessageReview]:
        """Unchecked: the effective state of each (message id, msgtime), for code that checked already."""
        s, m = T.states.c, T.marks.c
        marks = conn.execute(select(m.reviewer, m.upto_msgtime, m.upto_id, m.marked_at).where(
            m.corp_id == corp_id, m.session_id == session_id)).all()
        session = conn.execute(select(s.status, s.set_by, s.set_at).where(
            s.corp_id == corp_id, s.session_id == session_id, s.message_id == T.SESSION)).first()
        ids = sorted({i for i, _t in messages})
        explicit = {}
        for i in range(0, len(ids), CHUNK):
            for r in conn.execute(select(s.message_id, s.status, s.set_by, s.set_at).where(
                    s.corp_id == corp_id, s.session_id == session_id, s.message_id.in_(ids[i:i + CHUNK]))):
                explicit[r.message_id] = r
        out = {}
        for mid, t in messages:
            e = explicit.get(mid)
            if e is not None:
                out[mid] = MessageReview(e.status, True, e.set_by, e.set_at)
                continue
            covering = [k for k in marks if (t, mid) <= (k.upto_msgtime, k.upto_id)]
            if covering:
                first = min(covering, key=lambda k: k.marked_at)  # who reviewed it first
                out[mid] = MessageReview("reviewed", False, first.reviewer, first.marked_at)
            elif session is not None and session.status == "in_review":
                out[mid] = MessageReview("in_review", False, session.set_by, session.set_at)
            else:
                out[mid] = MessageReview("unreviewed")
        return out

    def overview(self, actor: Actor, keys: Sequence[tuple[int, str]] | None = None
                 ) -> dict[tuple[int, str], tuple[str, int | None]]:
        """(status, new messages since my mark or None) of sessions that have any review state —
        marks or an explicit status — among ``keys`` (every session when None), in scope. Sessions
        not listed are unreviewed. For the session tree: a few grouped queries, not one per session."""
        self._read(actor, "sessions")
        m, s = T.marks.c, T.states.c
        key = reviewer_key(actor)
        with self._reading() as conn:
            marks: dict[tuple[int, str], tuple[int, int]] = {}  # the furthest mark of each session
            for r in conn.execute(select(m.corp_id, m.session_id, m.upto_msgtime, m.upto_id)):
                k = (r.corp_id, r.session_id)
                marks[k] = max(marks.get(k, (r.upto_msgtime, r.upto_id)), (r.upto_msgtime, r.upto_id))
            in_review = {(r.corp_id, r.session_id) for r in conn.execute(select(s.corp_id, s.session_id).where(
                s.message_id == T.SESSION, s.status == "in_review"))}
            wanted = set(marks) | in_review
            if keys is not None:
                wanted &= set(keys)
            wanted = self._sessions_in_scope(conn, actor, sorted(wanted))
            mine = {(r.corp_id, r.session_id): (r.upto_msgtime, r.upto_id) for r in conn.execute(
                select(m.corp_id, m.session_id, m.upto_msgtime, m.upto_id).where(m.reviewer_key == key))}
            out: dict[tuple[int, str], tuple[str, int | None]] = {}
            for k in wanted:
                status = "in_review"
                if k in marks:
                    last = conn.execute(select(Message.msgtime, Message.id).where(
                        Message.corp_id == k[0], Message.session_id == k[1])
                        .order_by(Message.msgtime.desc(), Message.id.desc()).limit(1)).first()
                    if last is not None and (last.msgtime, last.id) <= marks[k]:
                        status = "reviewed"
                new = None
                if k in mine:
                    new = conn.execute(select(func.count()).select_from(Message).where(
                        Message.corp_id == k[0], Message.session_id == k[1], _after(*mine[k]))).scalar_one()
                out[k] = (status, new)
            return out

    def next_unreviewed(self, actor: Actor, corp_id: int, session_id: str, position: tuple[int, int] | None,
                        *, backwards: bool = False) -> int | None:
        """The id of the first message after (before, ``backwards``) ``position`` — a (msgtime, id),
        None for the start (end) of the session — whose status is not ``reviewed``; None if there is
        none. For the viewer's J / K (``review.read``)."""
        self._read(actor, "session", session_id)
        with self._reading() as conn:
            if not self._sessions_in_scope(conn, actor, [(corp_id, session_id)]):
                return None
            s, m = T.states.c, T.marks.c
            explicit = {r.message_id: (r.status, r.msgtime) for r in conn.execute(
                select(s.message_id, s.status, Message.msgtime).join(Message, Message.id == s.message_id).where(
                    s.corp_id == corp_id, s.session_id == session_id, s.message_id != T.SESSION))}
            marks = [(r.upto_msgtime, r.upto_id) for r in conn.execute(
                select(m.upto_msgtime, m.upto_id).where(m.corp_id == corp_id, m.session_id == session_id))]
            furthest = max(marks) if marks else None

            def beyond(key: tuple[int, int]) -> bool:
                if position is None:
                    return True
                return key < position if backwards else key > position

            # messages set to a status other than reviewed, wherever they are
            found = [(t, i) for i, (st, t) in explicit.items() if st != "reviewed" and beyond((t, i))]
            # and the first message past the furthest mark that is not set to reviewed
            q = select(Message.id, Message.msgtime).where(Message.corp_id == corp_id, Message.session_id == session_id)
            if position is not None:
                q = q.where(or_(Message.msgtime < position[0], and_(Message.msgtime == position[0],
                                                                    Message.id < position[1]))
                            if backwards else _after(*position))
            if furthest is not None:
                q = q.where(_after(*furthest))
            order = (Message.msgtime.desc(), Message.id.desc()) if backwards else (Message.msgtime, Message.id)
            last = None
            while True:
                page = q
                if last is not None:
                    page = page.where(or_(Message.msgtime < last[0], and_(Message.msgtime == last[0],
                                                                          Message.id < last[1]))
                                      if backwards else _after(*last))
                rows = conn.execute(page.order_by(*order).limit(CHUNK)).all()
                hit = next(((r.msgtime, r.id) for r in rows if explicit.get(r.id, ("",))[0] != "reviewed"), None)
                if hit is not None:
                    found.append(hit)
                    break
                if len(rows) < CHUNK:
                    break
                last = (rows[-1].msgtime, rows[-1].id)
            if not found:
                return None
            return (max(found) if backwards else min(found))[1]


def _by_session(targets: Sequence[Target]):
    groups: dict[tuple[int, str], list[int]] = {}
    for t in targets:
        groups.setdefault((t.corp_id, t.session_id), []).append(t.message_id)
    for (corp, sid), mids in groups.items():
        yield corp, sid, mids


__all__ = ["CLEAR", "STATUSES", "MarkRow", "MessageReview", "SessionReview", "StatusService"]
