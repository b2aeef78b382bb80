"""The compliance views over the directory: who is under archiving, and which customers consented.

**Archived staff** answers "whose chats are archived, since when": the permit list as the directory
syncs saw it (stretches: first seen on it, last seen, first seen off it), beside who actually sends
messages in the archive — so that staff whose chats are archived without being on the list (never
on it, or taken off) stand out, as do people on the list with no chats at all.

**Consent** answers "which customers consented": per external contact and staff member (one-to-one
chats) and per group room, the consent state WeCom reports (``check_single_agree`` /
``check_room_agree``) with the time of the decision and every earlier state, beside the agree /
disagree entries the archive holds as evidence. :meth:`ComplianceService.refused_sessions` gives the
conversations with a customer who refused — what a review policy can use.

Reading either needs ``archive.status``; the consent view shows only what is in the actor's scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.messages.session import looks_like_external_userid, session_of
from app.core.store.db import Database
from app.core.store.models import ArchivePermit, ConsentRecord, Contact, Message, Session

from .names import Directory

AGREE, DISAGREE, DEFAULT_AGREE = "agree", "disagree", "default_agree"
REFUSED = frozenset({DISAGREE})


@dataclass(frozen=True)
class PermitStretch:
    added_seen_at: int
    last_seen_at: int
    removed_seen_at: int | None


@dataclass(frozen=True)
class ArchivedStaff:
    """One staff member as the archive sees them. ``state``: ``archived`` (on the list, with chats),
    ``on_list_no_chats``, ``not_on_list`` (chats in the archive, never seen on the list),
    ``taken_off`` (chats in the archive, on the list earlier but not now)."""

    userid: str
    name: str
    department: str
    on_list: bool
    since: int | None  # first seen on the list in its current stretch (ms)
    removed_at: int | None  # first seen off the list, when off it now
    messages: int  # sent by them (entries of the archive)
    first_msgtime: int | None
    last_msgtime: int | None
    stretches: tuple[PermitStretch, ...] = ()
    status: int | None = None  # WeCom's: 1 active, 2 disabled, 4 inactive, 5 left

    @property
    def state(self) -> str:
        if self.on_list:
            return "archived" if self.messages else "on_list_no_chats"
        return "taken_off" if self.stretches else "not_on_list"

    @property
    def attention(self) -> bool:
        """Chats archived without this person being on the permit list now."""
        return not self.on_list and self.messages > 0


@dataclass(frozen=True)
class ArchivedStaffReport:
    rows: list[ArchivedStaff]
    permit_list_seen_at: int | None  # the newest sync that read the permit list (None: never)


@dataclass(frozen=True)
class ConsentState:
    status: str
    changed_at: int | None
    first_seen_at: int
    last_seen_at: int


@dataclass(frozen=True)
class ConsentEvidence:
    """An agree/disagree entry of the archive."""

    message_id: int
    msgid: str
    msgtype: str  # agree / disagree
    msgtime: int
    decided_at: int | None  # the entry's agree_time / disagree_time
    session_id: str | None


@dataclass(frozen=True)
class ConsentRow:
    """Consent of one external contact, with one staff member (``roomid`` "") or in one room
    (``userid`` ""). ``status`` is WeCom's newest state, else the newest archive entry's, else ""."""

    corp_id: int
    external_userid: str
    userid: str
    roomid: str
    status: str
    changed_at: int | None
    checked_at: int | None  # when a directory sync last read it from WeCom (None: archive entries only)
    history: tuple[ConsentState, ...]
    evidence: tuple[ConsentEvidence, ...]
    session_id: str  # the conversation it concerns (to open it)
    source: str  # "wecom" or "archive"

    @property
    def refused(self) -> bool:
        return self.status in REFUSED


def pair_session(userid: str, external_userid: str) -> str:
    """The session id of the one-to-one chat of a staff member and an external contact."""
    return session_of(userid, [external_userid], "", "_external")[0]


def room_session(roomid: str) -> str:
    return session_of("", [], roomid, "")[0]


@dataclass
class _Decision:
    msgtype: str
    at: int


@dataclass
class _Evidence:
    rows: list[ConsentEvidence] = field(default_factory=list)


class ComplianceService:
    """The two compliance views (see the module docstring). ``directory``: for names."""

    def __init__(self, db: Database, directory: Directory | None = None, trail: AuditTrail | None = None):
        self.db = db
        self.directory = directory or Directory(db)
        self.trail = trail or AuditTrail(db)

    def _require(self, actor: Actor, what: str) -> None:
        self.trail.require(actor, R.ARCHIVE_STATUS, action=Action.ARCHIVE_READ, object_type="archive", object=what)

    # ------------------------------------------------------------------ archived staff
    def archived_staff(self, actor: Actor, corp_id: int) -> ArchivedStaffReport:
        """Everyone on the permit list, ever, and every staff member who sends messages in the
        archive or is in the directory, with their stretches on the list and their message counts.
        Sorted: attention first (chats archived without being on the list), then by name."""
        self._require(actor, "archived staff")
        with self.db.read() as conn:
            stretches: dict[str, list[PermitStretch]] = {}
            for r in conn.execute(select(ArchivePermit.userid, ArchivePermit.added_seen_at, ArchivePermit.last_seen_at,
                                         ArchivePermit.removed_seen_at)
                                  .where(ArchivePermit.corp_id == corp_id).order_by(ArchivePermit.added_seen_at)):
                stretches.setdefault(r.userid, []).append(PermitStretch(r.added_seen_at, r.last_seen_at,
                                                                        r.removed_seen_at))
            seen_at = conn.execute(select(func.max(ArchivePermit.last_seen_at))
                                   .where(ArchivePermit.corp_id == corp_id)).scalar()
            senders = {r.sender: (r.n, r.first, r.last) for r in conn.execute(
                select(Message.sender, func.count().label("n"), func.min(Message.msgtime).label("first"),
                       func.max(Message.msgtime).label("last"))
                .where(Message.corp_id == corp_id, Message.action == "send").group_by(Message.sender))}
            staff = set(conn.execute(select(Contact.userid).where(Contact.corp_id == corp_id,
                                                                  Contact.kind == "staff")).scalars())
        ids = set(stretches) | staff | {s for s in senders if _staff_like(s)}
        rows = []
        for userid in ids:
            person = self.directory.person(actor, corp_id, userid)
            if person is not None and person.kind not in ("staff", ""):
                continue
            own = stretches.get(userid, [])
            current = next((s for s in reversed(own) if s.removed_seen_at is None), None)
            n, first, last = senders.get(userid, (0, None, None))
            rows.append(ArchivedStaff(
                userid, person.name if person else "", person.organisation if person else "", current is not None,
                current.added_seen_at if current else None, own[-1].removed_seen_at if own and not current else None,
                n, first, last, tuple(own), person.status if person else None))
        rows.sort(key=lambda r: (not r.attention, r.on_list is False and r.messages == 0, r.department, r.name,
                                 r.userid))
        return ArchivedStaffReport(rows, seen_at)

    # ------------------------------------------------------------------ consent
    def consent(self, actor: Actor, corp_id: int, *, refused_only: bool = False) -> list[ConsentRow]:
        """Consent per external contact and staff member, and per room with external members (WeCom's
        states, and contacts known only from agree/disagree entries of the archive); within the
        actor's scope. Refusals first, then by contact name."""
        self._require(actor, "consent")
        with self.db.read() as conn:
            states: dict[tuple[str, str, str], list[ConsentState]] = {}
            for r in conn.execute(select(*ConsentRecord.__table__.c).where(ConsentRecord.corp_id == corp_id)
                                  .order_by(ConsentRecord.first_seen_at, ConsentRecord.id)):
                states.setdefault((r.external_userid, r.userid, r.roomid), []).append(
                    ConsentState(r.status, r.changed_at, r.first_seen_at, r.last_seen_at))
            evidence = self._evidence(conn, corp_id)
        keys = set(states)
        for external in evidence:
            if not any(k[0] == external for k in keys):
                keys.add((external, "", ""))  # known from the archive's entries only
        rows = []
        for external, userid, roomid in keys:
            history = tuple(sorted(states.get((external, userid, roomid), ()),
                                   key=lambda s: (s.changed_at or 0, s.first_seen_at)))
            ev = tuple(evidence.get(external, ()))
            if history:
                latest = history[-1]
                status, changed, checked, source = latest.status, latest.changed_at, latest.last_seen_at, "wecom"
            elif ev:
                status, changed, checked, source = ev[-1].msgtype, ev[-1].decided_at or ev[-1].msgtime, None, "archive"
            else:
                continue
            if roomid:
                session = room_session(roomid)
            elif userid:
                session = pair_session(userid, external)
            else:
                session = ev[-1].session_id or ""
            rows.append(ConsentRow(corp_id, external, userid, roomid, status, changed, checked, history, ev, session,
                                   source))
        rows = self._in_scope(actor, corp_id, rows)
        if refused_only:
            rows = [r for r in rows if r.refused]
        name = self.directory.label
        rows.sort(key=lambda r: (not r.refused, name(actor, corp_id, r.external_userid), r.roomid, r.userid))
        return rows

    def refused_sessions(self, actor: Actor, corp_id: int) -> set[str]:
        """The conversations (session ids) with a customer whose newest consent state is a refusal:
        their one-to-one chat with that staff member, or the room. A refusal known only from an
        archive entry marks every one-to-one chat of that contact. Within the actor's scope."""
        out: set[str] = set()
        for row in self.consent(actor, corp_id, refused_only=True):
            if row.roomid or row.userid:
                out.add(row.session_id)
            else:
                out.update(self._sessions_of(corp_id, [row.external_userid]))
        return out

    def _evidence(self, conn, corp_id: int) -> dict[str, list[ConsentEvidence]]:
        """agree/disagree entries by the external contact they concern (the payload's userid; else
        the sender), oldest first."""
        out: dict[str, list[ConsentEvidence]] = {}
        for r in conn.execute(select(Message.id, Message.msgid, Message.msgtype, Message.msgtime, Message.sender,
                                     Message.session_id, Message.raw_json)
                              .where(Message.corp_id == corp_id, Message.msgtype.in_(("agree", "disagree")))
                              .order_by(Message.msgtime, Message.id)):
            external, decided = r.sender, None
            try:
                doc = json.loads(bytes(r.raw_json))
            except (ValueError, UnicodeDecodeError, RecursionError):
                doc = {}
            body = doc.get(r.msgtype) if isinstance(doc, dict) else None
            body = body if isinstance(body, dict) else (doc if isinstance(doc, dict) else {})
            if isinstance(body.get("userid"), str) and body["userid"]:
                external = body["userid"]
            t = body.get(f"{r.msgtype}_time")
            if isinstance(t, int) and not isinstance(t, bool):
                decided = t if t > 10**11 else t * 1000  # WeCom documents ms; a value in seconds is scaled
            out.setdefault(external, []).append(ConsentEvidence(r.id, r.msgid, r.msgtype, r.msgtime, decided,
                                                                r.session_id))
        return out

    def _sessions_of(self, corp_id: int, externals: Iterable[str]) -> set[str]:
        wanted = set(externals)
        with self.db.read() as conn:
            return {r.session_id for r in conn.execute(select(Session.session_id, Session.participants).where(
                Session.corp_id == corp_id, Session.session_type == "external"))
                if wanted & set(json.loads(r.participants or "[]"))}

    def _in_scope(self, actor: Actor, corp_id: int, rows: list[ConsentRow]) -> list[ConsentRow]:
        """Rows of conversations the actor may see: a scoped actor sees the rows whose staff member or
        room is in scope (a contact known only from archive entries: one of its chats is)."""
        if actor.scope is None:
            return rows
        scope = actor.scope
        rooms_in_scope: set[str] = set()
        externals_in_scope: set[str] = set()
        with self.db.read() as conn:
            for r in conn.execute(select(Session.roomid, Session.participants).where(Session.corp_id == corp_id)):
                people = set(json.loads(r.participants or "[]"))
                if people & scope:
                    if r.roomid:
                        rooms_in_scope.add(r.roomid)
                    externals_in_scope |= {p for p in people if looks_like_external_userid(p)}
        return [r for r in rows if (r.userid and r.userid in scope) or (r.roomid and r.roomid in rooms_in_scope)
                or (not r.userid and not r.roomid and r.external_userid in externals_in_scope)]


def _staff_like(userid: str) -> bool:
    return bool(userid) and not looks_like_external_userid(userid) and not (userid.startswith("wb") and
                                                                           28 <= len(userid) <= 40)


__all__ = ["AGREE", "DEFAULT_AGREE", "DISAGREE", "ArchivedStaff", "ArchivedStaffReport", "ComplianceService",
           "ConsentEvidence", "ConsentRow", "ConsentState", "PermitStretch", "pair_session", "room_session"]
