"""Retention policies and legal holds (issue 20). Qt-free.

**Policies** (``retention.manage``, administrators): keep messages of a corp (or every corp) and a
class (``all``, ``internal``, ``external``, ``group``) for ``keep_days``, counted from each
message's time (``basis="message"``) or from the conversation's last message
(``basis="last_activity"``: e.g. external chats 3 years after the customer relationship's last
contact — the archive has no other record of when a relationship ended). A message is *due* when at
least one enabled policy applies to it and every one that applies has expired; a message no policy
covers is kept for ever.

**Legal holds** (``hold.manage``): by custodian (staff userids: every conversation they take part
in, and everything they sent), by session, by query (the search language) and/or by date range —
the criteria given all apply. A held message is never deleted. Placing and releasing a hold are
recorded; a hold is released, never deleted.

**Deletion** is two steps by administrators: :meth:`RetentionService.plan` lists what is due now
(counts and a SHA-256 over the due messages' ``[msgid, raw_sha256]`` lines, recorded); an
administrator :meth:`approve`s it (another administrator than the one who planned it, when the
archive has more than one); :meth:`execute` deletes, in batches, the planned messages that are
*still* due and *not held now* — never more than the plan. Each batch is one transaction: the proof
rows (``deleted_messages``: msgid, seq, time, SHA-256 of the JSON — no content), the deletion of
the messages, their media rows and quarantine rows, the sessions' counts, a search-journal entry
(every workstation's index drops them) and a ``retention.delete`` audit entry with the batch's
count and digest. Media objects no remaining row refers to are removed from storage after the
commit (``deleted_media_objects`` keeps what is pending, so a killed run finishes the removal next
time). Backups made afterwards hold none of it (earlier backups expire under their own rotation).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.auth.errors import PermissionDenied
from app.core.auth.scope import participant_in, value_in
from app.core.store.db import Database, now_ms
from app.core.store.models import Account, Media, Message, QuarantineEntry, Session

from . import tables as T

if TYPE_CHECKING:
    from app.core.export.package import Selection
    from app.core.media.storage import MediaStorage
    from app.core.search import SearchService

__all__ = ["CLASSES", "BASES", "HoldRow", "PolicyRow", "RetentionError", "RetentionService", "RunRow"]

log = logging.getLogger(__name__)

CLASSES = ("all", "internal", "external", "group")
BASES = ("message", "last_activity")
DAY_MS = 86_400_000
BATCH = 500
MAX_KEEP_DAYS = 366 * 100


class RetentionError(ValueError):
    """A policy, hold or run request that cannot be done (one sentence)."""


@dataclass(frozen=True)
class PolicyRow:
    id: int
    corp_id: int | None
    name: str
    message_class: str
    keep_days: int
    basis: str
    created_by: str
    created_at: int
    disabled_at: int | None

    def describe(self) -> str:
        basis = "after each message" if self.basis == "message" else "after the conversation's last message"
        return f"{self.name}: keep {self.message_class} messages {self.keep_days} days {basis}"


@dataclass(frozen=True)
class HoldRow:
    id: int
    name: str
    reason: str
    corp_id: int | None
    userids: tuple[str, ...]
    session_ids: tuple[str, ...]
    query: str | None
    start_ms: int | None
    end_ms: int | None
    created_by: str
    created_at: int
    released_by: str | None
    released_at: int | None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True)
class RunRow:
    id: int
    created_by: str
    created_at: int
    as_of: int
    status: str
    due_count: int
    held_count: int
    digest: str
    approved_by: str | None
    approved_at: int | None
    deleted_count: int
    finished_at: int | None


@dataclass(frozen=True)
class _Due:
    id: int
    corp_id: int
    msgid: str
    seq: int
    session_id: str | None
    msgtime: int
    raw_sha256: str
    policy_id: int


def _line(msgid: str, sha: str) -> bytes:
    return json.dumps([msgid, sha], ensure_ascii=True).encode("ascii") + b"\n"


class RetentionService:
    """Policies, holds and deletion runs of one archive. ``storage_for(backend)`` opens the media
    storage a row names (AppContext.storage_for); ``search`` a SearchService for query holds."""

    def __init__(self, db: Database, trail: AuditTrail | None = None, *,
                 storage_for: Callable[[str | None], MediaStorage] | None = None,
                 search: SearchService | None = None) -> None:
        self.db = db
        self.trail = trail or AuditTrail(db)
        self.storage_for = storage_for
        self.search = search

    # ------------------------------------------------------------------ policies
    def add_policy(self, actor: Actor, name: str, keep_days: int, *, message_class: str = "all",
                   basis: str = "message", corp_id: int | None = None) -> PolicyRow:
        what = f"{name}: {message_class} {keep_days} days ({basis})"
        self.trail.require(actor, R.RETENTION_MANAGE, action=Action.RETENTION_POLICY, object_type="policy", object=what)
        if message_class not in CLASSES:
            raise RetentionError(f"the message class must be one of {', '.join(CLASSES)}, not {message_class!r}")
        if basis not in BASES:
            raise RetentionError(f"the basis must be one of {', '.join(BASES)}, not {basis!r}")
        if not 1 <= keep_days <= MAX_KEEP_DAYS:
            raise RetentionError(f"keep_days must be between 1 and {MAX_KEEP_DAYS}")
        if not name.strip() or len(name) > 191:
            raise RetentionError("a policy needs a name of at most 191 characters")
        pid = self.db.ids.next_id()
        with self.db.write() as conn:
            conn.execute(insert(T.policies).values(id=pid, corp_id=corp_id, name=name.strip(), message_class=message_class,
                                                   keep_days=keep_days, basis=basis, created_by=actor.username,
                                                   created_at=now_ms()))
            self.trail.record(actor, Action.RETENTION_POLICY, object_type="policy", object=what,
                              detail={"policy_id": pid, "change": "created", "corp_id": corp_id}, conn=conn)
        return self.policy(pid)

    def disable_policy(self, actor: Actor, policy_id: int) -> PolicyRow:
        self.trail.require(actor, R.RETENTION_MANAGE, action=Action.RETENTION_POLICY, object_type="policy",
                           object=str(policy_id))
        row = self.policy(policy_id)
        with self.db.write() as conn:
            conn.execute(update(T.policies).where(T.policies.c.id == policy_id, T.policies.c.disabled_at.is_(None))
                         .values(disabled_at=now_ms(), disabled_by=actor.username))
            self.trail.record(actor, Action.RETENTION_POLICY, object_type="policy", object=row.describe(),
                              detail={"policy_id": policy_id, "change": "disabled"}, conn=conn)
        return self.policy(policy_id)

    def policy(self, policy_id: int) -> PolicyRow:
        with self.db.read() as conn:
            r = conn.execute(select(T.policies).where(T.policies.c.id == policy_id)).first()
        if r is None:
            raise RetentionError(f"there is no retention policy {policy_id}")
        return _policy(r)

    def policies(self, actor: Actor, *, include_disabled: bool = False) -> list[PolicyRow]:
        self.trail.require(actor, R.ARCHIVE_STATUS, action=Action.ARCHIVE_READ, object_type="archive",
                           object="retention policies")
        q = select(T.policies).order_by(T.policies.c.created_at)
        if not include_disabled:
            q = q.where(T.policies.c.disabled_at.is_(None))
        with self.db.read() as conn:
            return [_policy(r) for r in conn.execute(q)]

    # ------------------------------------------------------------------ holds
    def place_hold(self, actor: Actor, name: str, reason: str, *, userids: Iterable[str] = (),
                   session_ids: Iterable[str] = (), query: str | None = None, start_ms: int | None = None,
                   end_ms: int | None = None, corp_id: int | None = None) -> HoldRow:
        userids, session_ids = sorted({u for u in userids if u}), sorted({s for s in session_ids if s})
        what = f"{name}: " + json.dumps({"userids": userids, "session_ids": session_ids, "query": query,
                                         "start_ms": start_ms, "end_ms": end_ms}, ensure_ascii=False)
        self.trail.require(actor, R.HOLD_MANAGE, action=Action.HOLD_CREATE, object_type="hold", object=what)
        if not (userids or session_ids or query or start_ms is not None or end_ms is not None):
            raise RetentionError("a hold needs custodians, sessions, a query or a date range")
        if not name.strip() or len(name) > 191:
            raise RetentionError("a hold needs a name of at most 191 characters")
        if not reason.strip():
            raise RetentionError("a hold needs a reason (the matter it preserves evidence for)")
        if query:
            from app.core.search.query import parse_query

            parse_query(query)  # a QueryError names the position
        hid = self.db.ids.next_id()
        with self.db.write() as conn:
            conn.execute(insert(T.holds).values(
                id=hid, name=name.strip(), reason=reason.strip(), corp_id=corp_id,
                userids=json.dumps(userids, ensure_ascii=False), session_ids=json.dumps(session_ids),
                query=query or None, start_ms=start_ms, end_ms=end_ms, created_by=actor.username, created_at=now_ms()))
            self.trail.record(actor, Action.HOLD_CREATE, object_type="hold", object=what,
                              detail={"hold_id": hid, "reason": reason.strip()[:500]}, conn=conn)
        return self.hold(hid)

    def release_hold(self, actor: Actor, hold_id: int, reason: str) -> HoldRow:
        self.trail.require(actor, R.HOLD_MANAGE, action=Action.HOLD_RELEASE, object_type="hold", object=str(hold_id))
        row = self.hold(hold_id)
        if not row.active:
            raise RetentionError(f"hold {hold_id} was released already")
        if not reason.strip():
            raise RetentionError("releasing a hold needs a reason")
        with self.db.write() as conn:
            conn.execute(update(T.holds).where(T.holds.c.id == hold_id, T.holds.c.released_at.is_(None))
                         .values(released_at=now_ms(), released_by=actor.username, release_reason=reason.strip()))
            self.trail.record(actor, Action.HOLD_RELEASE, object_type="hold", object=f"{hold_id} {row.name}",
                              detail={"hold_id": hold_id, "reason": reason.strip()[:500]}, conn=conn)
        return self.hold(hold_id)

    def hold(self, hold_id: int) -> HoldRow:
        with self.db.read() as conn:
            r = conn.execute(select(T.holds).where(T.holds.c.id == hold_id)).first()
        if r is None:
            raise RetentionError(f"there is no legal hold {hold_id}")
        return _hold(r)

    def holds(self, actor: Actor, *, include_released: bool = False) -> list[HoldRow]:
        self.trail.require(actor, R.ARCHIVE_STATUS, action=Action.ARCHIVE_READ, object_type="archive",
                           object="legal holds")
        q = select(T.holds).order_by(T.holds.c.created_at)
        if not include_released:
            q = q.where(T.holds.c.released_at.is_(None))
        with self.db.read() as conn:
            return [_hold(r) for r in conn.execute(q)]

    def held_message_ids(self, holds: Iterable[HoldRow] | None = None) -> set[int]:
        """The ids of every message an active hold (or the ``holds`` given) covers."""
        if holds is None:
            with self.db.read() as conn:
                holds = [_hold(r) for r in conn.execute(select(T.holds).where(T.holds.c.released_at.is_(None)))]
        out: set[int] = set()
        for h in holds:
            out |= self._hold_ids(h)
        return out

    def _hold_ids(self, h: HoldRow) -> set[int]:
        conditions = []
        if h.corp_id is not None:
            conditions.append(Message.corp_id == h.corp_id)
        if h.userids:
            s = Session.__table__.alias("hold_s")
            in_session = select(s.c.session_id).where(s.c.corp_id == Message.corp_id,
                                                      participant_in(self.db, s.c.participants, h.userids))
            conditions.append(or_(Message.session_id.in_(in_session), value_in(self.db, Message.sender, h.userids)))
        if h.session_ids:
            conditions.append(value_in(self.db, Message.session_id, h.session_ids))
        if h.start_ms is not None:
            conditions.append(Message.msgtime >= h.start_ms)
        if h.end_ms is not None:
            conditions.append(Message.msgtime < h.end_ms)
        ids: set[int] = set()
        with self.db.read() as conn:
            ids.update(conn.execute(select(Message.id).where(and_(*conditions))).scalars())
        if h.query:
            ids &= self._query_ids(h.query, h.corp_id)
        return ids

    def _query_ids(self, query: str, corp_id: int | None) -> set[int]:
        if self.search is None:
            from app.core.review.facts import resolve_review_terms
            from app.core.search import SearchService

            self.search = SearchService(self.db, trail=self.trail, review_terms=resolve_review_terms)
        # A system reader: the hold's query is evaluated for the archive, not shown to anyone.
        reader = Actor.system("legal-hold", roles=frozenset({"reviewer"}))
        out: set[int] = set()
        before = None
        while True:
            hits = self.search.query(reader, query, limit=5000, before=before, corp_id=corp_id)
            out.update(h.message.id for h in hits)
            if len(hits) < 5000:
                return out
            before = hits[-1].cursor()

    def hold_selection(self, actor: Actor, hold_id: int) -> Selection:
        """An evidence-package Selection of what hold ``hold_id`` covers ("export from the hold"):
        the held messages by msgid, without context around them."""
        from app.core.export.package import Selection

        self.trail.require(actor, R.EXPORT_CREATE, action=Action.EXPORT, object_type="hold", object=str(hold_id))
        h = self.hold(hold_id)
        ids = sorted(self._hold_ids(h))
        if not ids:
            raise RetentionError(f"hold {hold_id} covers no message")
        msgids: list[str] = []
        with self.db.read() as conn:
            for i in range(0, len(ids), 500):
                msgids.extend(conn.execute(select(Message.msgid).where(Message.id.in_(ids[i:i + 500]))
                                           .order_by(Message.msgtime, Message.id)).scalars())
        return Selection(msgids=tuple(msgids), context_hours=0.0, corp_id=h.corp_id)

    # ------------------------------------------------------------------ what is due
    def _due(self, as_of: int, policies: list[PolicyRow]) -> Iterable[_Due]:
        """Every message due at ``as_of`` under ``policies`` (holds not applied), in id order."""
        if not policies:
            return
        last = None
        q = (select(Message.id, Message.corp_id, Message.msgid, Message.seq, Message.session_id, Message.session_type,
                    Message.msgtime, Message.raw_sha256, Session.last_msgtime)
             .select_from(Message).outerjoin(Session, and_(Session.corp_id == Message.corp_id,
                                                           Session.session_id == Message.session_id)))
        while True:
            page = q.order_by(Message.id).limit(2000)
            if last is not None:
                page = page.where(Message.id > last)
            with self.db.read() as conn:
                rows = conn.execute(page).all()
            for r in rows:
                applicable = [p for p in policies if (p.corp_id is None or p.corp_id == r.corp_id)
                              and (p.message_class == "all" or p.message_class == _klass(r.session_type))]
                if not applicable:
                    continue
                longest = None
                for p in applicable:
                    start = r.msgtime if p.basis == "message" else (r.last_msgtime or r.msgtime)
                    expires = start + p.keep_days * DAY_MS
                    if longest is None or expires > longest[0]:
                        longest = (expires, p.id)
                assert longest is not None  # some policy applies (checked above)
                if longest[0] <= as_of:
                    yield _Due(r.id, r.corp_id, r.msgid, r.seq, r.session_id, r.msgtime, r.raw_sha256, longest[1])
            if len(rows) < 2000:
                return
            last = rows[-1].id

    def plan(self, actor: Actor, *, as_of: int | None = None) -> RunRow:
        """Propose a deletion run: what is due now and not held (recorded with counts and digest)."""
        self.trail.require(actor, R.RETENTION_MANAGE, action=Action.RETENTION_PLAN, object_type="retention",
                           object="plan")
        as_of = now_ms() if as_of is None else as_of
        policies = self.policies(actor)
        held = self.held_message_ids()
        digest, due, held_count = hashlib.sha256(), 0, 0
        for d in self._due(as_of, policies):
            if d.id in held:
                held_count += 1
                continue
            digest.update(_line(d.msgid, d.raw_sha256))
            due += 1
        rid = self.db.ids.next_id()
        snapshot = json.dumps([p.__dict__ for p in policies], ensure_ascii=False)
        with self.db.write() as conn:
            conn.execute(insert(T.runs).values(id=rid, created_by=actor.username, created_at=now_ms(), as_of=as_of,
                                               status="proposed", policies=snapshot, due_count=due,
                                               held_count=held_count, digest=digest.hexdigest(), deleted_count=0))
            self.trail.record(actor, Action.RETENTION_PLAN, object_type="retention run", object=str(rid),
                              detail={"as_of": as_of, "due": due, "held": held_count, "digest": digest.hexdigest(),
                                      "policies": [p.id for p in policies]}, conn=conn)
        return self.run(rid)

    def run(self, run_id: int) -> RunRow:
        with self.db.read() as conn:
            r = conn.execute(select(*[c for c in T.runs.c if c.name != "policies"]).where(T.runs.c.id == run_id)).first()
        if r is None:
            raise RetentionError(f"there is no retention run {run_id}")
        return RunRow(**r._asdict())

    def runs(self, actor: Actor, limit: int = 50) -> list[RunRow]:
        self.trail.require(actor, R.ARCHIVE_STATUS, action=Action.ARCHIVE_READ, object_type="archive",
                           object="retention runs")
        with self.db.read() as conn:
            rows = conn.execute(select(*[c for c in T.runs.c if c.name != "policies"])
                                .order_by(T.runs.c.created_at.desc()).limit(limit)).all()
        return [RunRow(**r._asdict()) for r in rows]

    def approve(self, actor: Actor, run_id: int) -> RunRow:
        """Approve a proposed run (another administrator than its proposer, where there is one)."""
        self.trail.require(actor, R.RETENTION_MANAGE, action=Action.RETENTION_APPROVE, object_type="retention run",
                           object=str(run_id))
        run = self.run(run_id)
        if run.status != "proposed":
            raise RetentionError(f"retention run {run_id} is {run.status}, not proposed")
        if run.created_by == actor.username and self._other_administrators(actor.username):
            error = PermissionDenied(f"retention run {run_id} was planned by '{actor.username}': another administrator "
                                     f"must approve it", f"保留期执行 {run_id} 由“{actor.username}”计划：须由另一位管理员批准",
                                     username=actor.username, permission=R.RETENTION_MANAGE)
            self.trail.refuse(actor, Action.RETENTION_APPROVE, error, object_type="retention run", object=str(run_id))
        with self.db.write() as conn:
            conn.execute(update(T.runs).where(T.runs.c.id == run_id, T.runs.c.status == "proposed")
                         .values(status="approved", approved_by=actor.username, approved_at=now_ms()))
            self.trail.record(actor, Action.RETENTION_APPROVE, object_type="retention run", object=str(run_id),
                              detail={"due": run.due_count, "digest": run.digest}, conn=conn)
        return self.run(run_id)

    def _other_administrators(self, username: str) -> bool:
        with self.db.read() as conn:
            rows = conn.execute(select(Account.username, Account.roles).where(Account.disabled.is_(False))).all()
        return any(u != username and R.ADMINISTRATOR in json.loads(roles or "[]") for u, roles in rows)

    # ------------------------------------------------------------------ deleting
    def execute(self, actor: Actor, run_id: int, *, progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> RunRow:
        """Delete what the approved run ``run_id`` planned that is still due and not held now (see the
        module docstring). Resumable: a run stopped midway continues where it stopped."""
        self.trail.require(actor, R.RETENTION_MANAGE, action=Action.RETENTION_DELETE, object_type="retention run",
                           object=str(run_id))
        run = self.run(run_id)
        if run.status not in ("approved", "running"):
            raise RetentionError(f"retention run {run_id} is {run.status}: only an approved run deletes")
        self.remove_pending_objects()
        with self.db.read() as conn:
            policies = [PolicyRow(**{k: v for k, v in p.items() if k in PolicyRow.__dataclass_fields__})
                        for p in json.loads(conn.execute(select(T.runs.c.policies)
                                                         .where(T.runs.c.id == run_id)).scalar_one())]
        with self.db.write() as conn:
            conn.execute(update(T.runs).where(T.runs.c.id == run_id).values(status="running"))
        held = self.held_message_ids()
        batch: list[_Due] = []
        deleted = run.deleted_count
        for d in self._due(run.as_of, policies):
            if d.id in held:
                continue
            batch.append(d)
            if len(batch) >= BATCH:
                deleted += self._delete_batch(actor, run_id, batch)
                batch = []
                if progress is not None:
                    progress(deleted, run.due_count)
                if cancel is not None and cancel():
                    return self.run(run_id)
        if batch:
            deleted += self._delete_batch(actor, run_id, batch)
        self.remove_pending_objects()
        with self.db.write() as conn:
            conn.execute(update(T.runs).where(T.runs.c.id == run_id).values(status="done", finished_at=now_ms()))
            self.trail.record(actor, Action.RETENTION_DELETE, object_type="retention run", object=str(run_id),
                              detail={"finished": True, "deleted": deleted, "planned": run.due_count,
                                      "plan_digest": run.digest}, conn=conn)
        if progress is not None:
            progress(deleted, run.due_count)
        return self.run(run_id)

    def _delete_batch(self, actor: Actor, run_id: int, batch: list[_Due]) -> int:
        from app.core.search.journal import journal_removed

        ids = [d.id for d in batch]
        digest = hashlib.sha256(b"".join(_line(d.msgid, d.raw_sha256) for d in batch)).hexdigest()
        now = now_ms()
        with self.db.write() as conn:
            media = conn.execute(select(Media.storage_backend, Media.storage_key, Media.sha256)
                                 .where(Media.message_id.in_(ids), Media.storage_key.is_not(None))).all()
            conn.execute(insert(T.deleted_messages), [
                {"id": self.db.ids.next_id(), "run_id": run_id, "corp_id": d.corp_id, "msgid": d.msgid, "seq": d.seq,
                 "session_id": d.session_id, "msgtime": d.msgtime, "raw_sha256": d.raw_sha256,
                 "policy_id": d.policy_id, "deleted_at": now} for d in batch])
            conn.execute(delete(Media).where(Media.message_id.in_(ids)))
            conn.execute(delete(Message).where(Message.id.in_(ids)))
            for corp_id in {d.corp_id for d in batch}:
                msgids = [d.msgid for d in batch if d.corp_id == corp_id]
                conn.execute(delete(QuarantineEntry).where(QuarantineEntry.corp_id == corp_id,
                                                           QuarantineEntry.msgid.in_(msgids)))
            for corp_id, sid in {(d.corp_id, d.session_id) for d in batch if d.session_id}:
                self._refresh_session(conn, corp_id, sid)
            for backend, key, sha in {(b or "local", k, s or "") for b, k, s in media}:
                still = conn.execute(select(func.count()).select_from(Media).where(Media.storage_key == key)).scalar_one()
                if not still:
                    conn.execute(insert(T.deleted_media).values(id=self.db.ids.next_id(), run_id=run_id,
                                                                storage_backend=backend, storage_key=key, sha256=sha))
            conn.execute(update(T.runs).where(T.runs.c.id == run_id)
                         .values(deleted_count=T.runs.c.deleted_count + len(batch)))
            for corp_id in {d.corp_id for d in batch}:
                journal_removed(conn, corp_id, [d.id for d in batch if d.corp_id == corp_id])
            self.trail.record(actor, Action.RETENTION_DELETE, object_type="retention run", object=str(run_id),
                              detail={"messages": len(batch), "digest": digest, "media_rows": len(media),
                                      "first_msgtime": min(d.msgtime for d in batch),
                                      "last_msgtime": max(d.msgtime for d in batch)}, conn=conn)
        return len(batch)

    @staticmethod
    def _refresh_session(conn: Connection, corp_id: int, sid: str) -> None:
        n, first, last = conn.execute(select(func.count(), func.min(Message.msgtime), func.max(Message.msgtime))
                                      .where(Message.corp_id == corp_id, Message.session_id == sid)).one()
        if not n:
            conn.execute(delete(Session).where(Session.corp_id == corp_id, Session.session_id == sid))
        else:
            conn.execute(update(Session).where(Session.corp_id == corp_id, Session.session_id == sid)
                         .values(message_count=n, first_msgtime=first, last_msgtime=last))

    def remove_pending_objects(self) -> int:
        """Remove from storage the media objects deletions left no reference to; returns how many."""
        if self.storage_for is None:
            return 0
        with self.db.read() as conn:
            rows = conn.execute(select(T.deleted_media.c.id, T.deleted_media.c.storage_backend,
                                       T.deleted_media.c.storage_key)
                                .where(T.deleted_media.c.removed_at.is_(None))).all()
        done = 0
        for rid, backend, key in rows:
            with self.db.read() as conn:
                if conn.execute(select(func.count()).select_from(Media).where(Media.storage_key == key)).scalar_one():
                    continue  # the same file arrived again in a newer message: keep it
            if self.storage_for(backend).delete([key]):
                log.warning("media object %s could not be removed from %s storage yet", key, backend)
                continue
            with self.db.write() as conn:
                conn.execute(update(T.deleted_media).where(T.deleted_media.c.id == rid).values(removed_at=now_ms()))
            done += 1
        return done


def _klass(session_type: str | None) -> str:
    return {"internal": "internal", "external": "external", "group": "group"}.get(session_type or "", "other")


def _policy(r: Row[*tuple[Any, ...]]) -> PolicyRow:
    return PolicyRow(r.id, r.corp_id, r.name, r.message_class, r.keep_days, r.basis, r.created_by, r.created_at,
                     r.disabled_at)


def _hold(r: Row[*tuple[Any, ...]]) -> HoldRow:
    return HoldRow(r.id, r.name, r.reason, r.corp_id, tuple(json.loads(r.userids or "[]")),
                   tuple(json.loads(r.session_ids or "[]")), r.query, r.start_ms, r.end_ms, r.created_by,
                   r.created_at, r.released_by, r.released_at)
