"""Policies: a saved query and a schedule, evaluated on what each sync stores, raising alerts.

A policy is a query in the search language — a lexicon (``返现 OR 回扣 OR "私下转账"``), files sent
to external contacts (``session:external type:file``), recalls of messages with attachments
(``is:recalled has:media``), consent refused (``type:disagree``) — with a schedule: ``sync``
(after every sync batch) or ``daily`` (at most once a day, after the first sync of the day).
Administrators (``review.manage``) create and change policies; a change is recorded.

**Incremental.** Policies are evaluated on the search journal (app/core/search/journal.py): each
policy keeps, per corp, the journal number it has evaluated up to (``review_policy_marks``), and an
evaluation reads only the journal rows after it — the messages a batch stored, and older messages
a recall changed — fetches those rows by id and matches them with the search's own evaluator
(exactly what a search would find). Review terms (``tag:`` …) are resolved for those messages
alone, and the alerts they raise or join are read and written a few statements at a time. Its
cost follows the batch, not the archive nor its review state (``benchmarks/bench_policies.py``).
A new policy starts at the journal's head (it raises alerts for what arrives from then on;
``run(..., since_ms=...)`` looks back through the search index).

**Alerts.** Each new match raises or joins an alert: one per policy, session and day (the message's
local date), with the matching messages as its hits (a message is a hit of a policy once). An
alert that was dismissed is reopened by new hits (recorded, with the count); an escalated one
keeps its status and counts them as new hits.

**Who runs it.** The sync runs the evaluation after every batch (:class:`PolicyFollower`, as the
search index follows it) as ``system:review-policies``; a reviewer or administrator can run it at
any time (``run``). Concurrent evaluations (two workstations syncing) never raise an alert twice:
the marks are compared and advanced in the transaction that writes the alerts. Every evaluation
that raises or adds to alerts writes one ``review.policy_run`` audit entry in that transaction.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.search import journal as jr
from app.core.search.evaluate import Candidate, matches
from app.core.search.query import Field, Node, QueryError, has_review_terms, parse_query
from app.core.store.db import Database, now_ms
from app.core.store.models import Message

from . import tables as T
from .common import CHUNK, MAX_NAME, Base, ReviewError, check_text, fold, reviewer_key

log = logging.getLogger(__name__)

SCHEDULES = ("sync", "daily")
SYSTEM = "review-policies"
JOURNAL_STEP = 100  # journal rows read at a time
ALERTS_PER_UPDATE = 100  # alerts given new hits by one statement (9 parameters each: under SQLite's old 999)


@dataclass(frozen=True)
class PolicyRow:
    id: int
    name: str
    query: str
    schedule: str
    description: str
    assignee: str | None
    assignee_key: str | None
    enabled: bool
    created_by: str
    created_at: int
    updated_by: str
    updated_at: int
    last_run_at: int | None


@dataclass
class RunReport:
    """What one evaluation did: messages matched per policy, alerts raised and joined."""

    messages: int = 0  # messages evaluated (each once, whatever the number of policies)
    hits: dict[str, int] = field(default_factory=dict)  # policy name -> new hits
    raised: list[int] = field(default_factory=list)  # new alert ids
    updated: list[int] = field(default_factory=list)  # alerts with new hits
    reopened: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def alerts(self) -> int:
        return len(self.raised) + len(self.updated)

    def to_dict(self) -> dict:
        return {"messages": self.messages, "hits": dict(self.hits), "raised": len(self.raised),
                "updated": len(self.updated), "reopened": len(self.reopened), "seconds": round(self.seconds, 4)}


def _policy(r) -> PolicyRow:
    return PolicyRow(r.id, r.name, r.query, r.schedule, r.description, r.assignee, r.assignee_key, bool(r.enabled),
                     r.created_by,
                     r.created_at, r.updated_by, r.updated_at, r.last_run_at)


def local_day(ms: int, tz: tzinfo | None = None) -> str:
    """The date (YYYY-MM-DD) of ``ms`` in ``tz`` (default: this computer's zone)."""
    try:
        dt = datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz) if tz is not None else \
            datetime.fromtimestamp(ms / 1000).astimezone()
    except (OverflowError, ValueError, OSError):
        return "9999-12-31" if ms > 0 else "1970-01-01"
    return dt.date().isoformat()


def check_policy_query(query: str, tz: tzinfo | None = None) -> Node:
    """The policy's query tree; ReviewError (with the position) if it does not parse or names a
    reviewer as "me" (a policy runs for nobody in particular)."""
    query = check_text(query, ("policy's query", "策略查询"), limit=2000)
    try:
        node = parse_query(query, tz=tz)
    except QueryError as exc:
        raise ReviewError(f"the policy's query is wrong at character {exc.position + 1}: {exc.message}",
                          f"策略查询在第 {exc.position + 1} 个字符处有误：{exc.message}") from None

    def walk(n) -> None:
        if isinstance(n, Field) and n.name == "reviewed" and n.value.lower() == "me":
            raise ReviewError("a policy runs for nobody in particular: write reviewed:NAME, not reviewed:me",
                              "策略不代表任何具体的人运行：请写 reviewed:账号名，而不是 reviewed:me")
        for child in getattr(n, "items", ()) or ((n.item,) if hasattr(n, "item") else ()):
            walk(child)

    walk(node)
    return node


def _field_names(node: Node) -> set[str]:
    """The names of the fields a query tree tests (``from``, ``to``, ``tag`` …)."""
    if isinstance(node, Field):
        return {node.name}
    children = getattr(node, "items", ()) or ((node.item,) if hasattr(node, "item") else ())
    return set().union(*(_field_names(c) for c in children))


class PolicyService(Base):
    """Policies (see the module docstring). Thread-safe; call off the GUI thread."""

    def policies(self, actor: Actor, *, include_disabled: bool = True) -> list[PolicyRow]:
        """Every policy (``review.read`` or ``review.manage``)."""
        if not R.can(actor, R.REVIEW_MANAGE):
            self._read(actor, "policies")
        q = select(T.policies).order_by(T.policies.c.name)
        if not include_disabled:
            q = q.where(T.policies.c.enabled.is_(True))
        with self.db.read() as conn:
            return [_policy(r) for r in conn.execute(q)]

    def find(self, name_or_id: str | int) -> PolicyRow:
        with self.db.read() as conn:
            rows = [_policy(r) for r in conn.execute(select(T.policies))]
        for p in rows:
            if str(p.id) == str(name_or_id) or fold(p.name) == fold(str(name_or_id)):
                return p
        names = ", ".join(sorted(p.name for p in rows))
        raise ReviewError(f"there is no policy '{name_or_id}'" + (f": the policies are {names}" if rows else ""),
                          f"没有策略“{name_or_id}”" + (f"：现有策略为 {names}" if rows else ""))

    def create(self, actor: Actor, name: str, query: str, *, schedule: str = "sync", description: str = "",
               assignee: str | None = None) -> PolicyRow:
        """A new, enabled policy; it evaluates what arrives from now on (``review.manage``)."""
        name = check_text(name, ("policy's name", "策略名称"), limit=MAX_NAME)
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_POLICY, "policy", name)
        check_policy_query(query, self.tz)
        description = check_text(description, ("description", "说明"), required=False)
        if schedule not in SCHEDULES:
            raise ReviewError(f"'{schedule}' is not a schedule: use {' or '.join(SCHEDULES)}",
                              f"“{schedule}”不是运行时机：请使用 {' 或 '.join(SCHEDULES)}")
        assignee_key, assignee_name = self._assignee(assignee)
        with self.db.write() as conn:
            if any(fold(n) == fold(name) for n in conn.execute(select(T.policies.c.name)).scalars()):
                raise ReviewError(f"a policy named '{name}' exists already: choose another name",
                                  f"已有名为“{name}”的策略：请换一个名称")
            pid, now = self.db.ids.next_id(), now_ms()
            conn.execute(insert(T.policies).values(
                id=pid, name=name, query=query.strip(), schedule=schedule, description=description,
                assignee_key=assignee_key, assignee=assignee_name, enabled=True, created_by=actor.username,
                created_at=now, updated_by=actor.username, updated_at=now))
            heads = jr.heads(conn)
            if heads:
                conn.execute(insert(T.policy_marks), [{"policy_id": pid, "corp_id": c, "last_no": n}
                                                      for c, n in heads.items()])
            self.trail.record(actor, Action.REVIEW_POLICY, object_type="policy", object=name,
                              detail={"change": "create", "query": query.strip(), "schedule": schedule,
                                      "assignee": assignee_name, "journal_heads": {str(c): n for c, n in heads.items()}},
                              conn=conn)
        return self.find(pid)

    def update(self, actor: Actor, name_or_id: str | int, *, name: str | None = None, query: str | None = None,
               schedule: str | None = None, description: str | None = None, assignee: str | None = None,
               clear_assignee: bool = False, enabled: bool | None = None) -> PolicyRow:
        """Change a policy (``review.manage``); each change is recorded as ``old -> new``. A changed
        query applies to what is evaluated from now on."""
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_POLICY, "policy", str(name_or_id))
        p = self.find(name_or_id)
        values: dict = {}
        if name is not None and name.strip() != p.name:
            values["name"] = check_text(name, ("policy's name", "策略名称"), limit=MAX_NAME)
        if query is not None and query.strip() != p.query:
            check_policy_query(query, self.tz)
            values["query"] = query.strip()
        if schedule is not None and schedule != p.schedule:
            if schedule not in SCHEDULES:
                raise ReviewError(f"'{schedule}' is not a schedule: use {' or '.join(SCHEDULES)}",
                              f"“{schedule}”不是运行时机：请使用 {' 或 '.join(SCHEDULES)}")
            values["schedule"] = schedule
        if description is not None and description.strip() != p.description:
            values["description"] = check_text(description, ("description", "说明"), required=False)
        if assignee is not None or clear_assignee:
            key, shown = self._assignee(None if clear_assignee else assignee)
            if shown != p.assignee:
                values["assignee_key"], values["assignee"] = key, shown
        if enabled is not None and enabled != p.enabled:
            values["enabled"] = enabled
        if not values:
            return p
        changes = {k: f"{getattr(p, k, None)} -> {v}" for k, v in values.items() if k != "assignee_key"}
        with self.db.write() as conn:
            if "name" in values and any(fold(n) == fold(values["name"]) for n in conn.execute(
                    select(T.policies.c.name).where(T.policies.c.id != p.id)).scalars()):
                raise ReviewError(f"a policy named '{values['name']}' exists already: choose another name",
                                  f"已有名为“{values['name']}”的策略：请换一个名称")
            if values.get("enabled") is True:  # re-enabled: evaluate from now on, not what passed meanwhile
                heads = jr.heads(conn)
                for c, n in heads.items():
                    _set_mark(conn, p.id, c, n)
            conn.execute(update(T.policies).where(T.policies.c.id == p.id)
                         .values(updated_by=actor.username, updated_at=now_ms(), **values))
            self.trail.record(actor, Action.REVIEW_POLICY, object_type="policy", object=p.name,
                              detail={"change": "update", **changes}, conn=conn)
        return self.find(p.id)

    def _assignee(self, name: str | None) -> tuple[str | None, str | None]:
        if not name:
            return None, None
        return account_key(self.db, name)

    def run(self, actor: Actor, names: Sequence[str | int] = (), *, since_ms: int | None = None,
            search=None) -> RunReport:
        """Evaluate policies now (``review.write`` or ``review.manage``): the named ones, or every
        enabled one, on what the journal holds past their marks — or, with ``since_ms``, on every
        message since then through the search index (``search``: the SearchService), which looks
        back without moving the marks. Alerts are raised as after a sync."""
        if not R.can(actor, R.REVIEW_MANAGE):
            self._require(actor, R.REVIEW_WRITE, Action.REVIEW_POLICY_RUN, "policy", [str(n) for n in names])
        ids = [self.find(n).id for n in names] or None
        engine = PolicyEngine(self.db, self.trail, tz=self.tz)
        if since_ms is None:
            return engine.evaluate(actor=actor, policy_ids=ids, schedules=SCHEDULES)
        if search is None:
            raise ReviewError("looking back needs the search index", "回溯历史消息需要搜索索引")
        return engine.look_back(actor, search, since_ms, policy_ids=ids)


def account_key(db: Database, name: str) -> tuple[str, str]:
    """(reviewer key, user name) of the account named ``name``; ReviewError if there is none or it
    may not review."""
    from app.core.auth.accounts import canonical_username
    from app.core.store.models import Account

    try:
        canon = canonical_username(name)
    except ValueError:
        canon = ""
    with db.read() as conn:
        row = conn.execute(select(Account.id, Account.username, Account.roles, Account.disabled)
                           .where(Account.username == canon)).first() if canon else None
    if row is None:
        raise ReviewError(f"there is no account '{name}'", f"没有账号“{name}”")
    if row.disabled or R.REVIEW_WRITE not in R.permissions_of(json.loads(row.roles or "[]")):
        raise ReviewError(f"account '{row.username}' cannot triage alerts (it needs the reviewer role and to be "
                          f"enabled)", f"账号“{row.username}”不能处理告警（需要审阅员角色且账号已启用）")
    return f"#{row.id}", row.username


def _set_mark(conn, policy_id: int, corp_id: int, no: int) -> None:
    m = T.policy_marks.c
    if conn.execute(update(T.policy_marks).where(m.policy_id == policy_id, m.corp_id == corp_id)
                    .values(last_no=no)).rowcount == 0:
        conn.execute(insert(T.policy_marks).values(policy_id=policy_id, corp_id=corp_id, last_no=no))


class _Conflict(Exception):
    """Another evaluation advanced a mark first: its alerts stand, this one is dropped and redone."""


@dataclass
class _Compiled:
    row: PolicyRow
    node: Node  # the query as parsed, review terms (tag:, status: …) unresolved
    marks: dict[int, int]  # corp -> journal number evaluated up to
    review_terms: bool = False  # whether ``node`` has review terms, resolved for each group of messages
    recipients: bool = False  # whether it tests to: (the recipients are parsed only then)


_CANDIDATE_COLUMNS = (Message.id, Message.corp_id, Message.msgtime, Message.sender, Message.tolist, Message.roomid,
                      Message.msgtype, Message.session_id, Message.session_type, Message.has_media,
                      Message.recalled_at, Message.content_text)


_FETCH = select(*_CANDIDATE_COLUMNS).where(Message.id.in_(bindparam("ids", expanding=True)))


def _candidate(r, recipients: bool) -> Candidate:
    """The message as the evaluator takes it; its recipients only with ``recipients`` (parsing
    them is the costliest part, and only to: needs them)."""
    return Candidate(id=r.id, corp_id=r.corp_id, msgtime=r.msgtime, sender=r.sender,
                     tolist=json.loads(r.tolist or "[]") if recipients else (), session_id=r.session_id, roomid=r.roomid,
                     msgtype=r.msgtype, session_type=r.session_type, has_media=r.has_media,
                     recalled=r.recalled_at is not None, content_text=r.content_text)


class PolicyEngine:
    """Evaluates policies and raises alerts; no permission checks (callers check), safe to run
    from several threads, processes and workstations at once."""

    def __init__(self, db: Database, trail: AuditTrail | None = None, *, tz: tzinfo | None = None):
        self.db = db
        self.trail = trail or AuditTrail(db)
        self.tz = tz

    def evaluate(self, *, actor: Actor | None = None, policy_ids: Sequence[int] | None = None,
                 schedules: Iterable[str] = ("sync",), due_daily: bool = False) -> RunReport:
        """Evaluate the enabled policies of ``schedules`` (and, with ``due_daily``, the daily ones
        not run yet today) on the journal past their marks."""
        for _attempt in range(3):
            try:
                return self._evaluate(actor or Actor.system(SYSTEM), policy_ids, set(schedules), due_daily)
            except _Conflict:
                continue
        return RunReport()

    def _load(self, policy_ids, schedules: set[str], due_daily: bool) -> list[_Compiled]:
        today = local_day(now_ms(), self.tz)
        out = []
        with self.db.read() as conn:
            marks: dict[int, dict[int, int]] = {}
            for r in conn.execute(select(T.policy_marks)):
                marks.setdefault(r.policy_id, {})[r.corp_id] = r.last_no
            for r in conn.execute(select(T.policies).where(T.policies.c.enabled.is_(True))):
                p = _policy(r)
                if policy_ids is not None and p.id not in policy_ids:
                    continue
                wanted = p.schedule in schedules or (
                    due_daily and p.schedule == "daily"
                    and (p.last_run_at is None or local_day(p.last_run_at, self.tz) != today))
                if not wanted:
                    continue
                try:
                    node = check_policy_query(p.query, self.tz)
                except ReviewError:
                    log.warning("policy %s has a query that no longer parses; it is skipped", p.id)
                    continue
                out.append(_Compiled(p, node, marks.get(p.id, {}), has_review_terms(node), "to" in _field_names(node)))
        return out

    def _evaluate(self, actor: Actor, policy_ids, schedules: set[str], due_daily: bool) -> RunReport:
        started = time.perf_counter()
        report = RunReport()
        policies = self._load(policy_ids, schedules, due_daily)
        if not policies:
            return report
        with self.db.read() as conn:
            heads = jr.heads(conn)
        hits: list[tuple[_Compiled, Candidate]] = []
        advanced: list[tuple[int, int, int | None, int]] = []  # policy, corp, old mark, new mark
        for corp, head in heads.items():
            behind = [p for p in policies if p.marks.get(corp, 0) < head]
            if not behind:
                continue
            start = min(p.marks.get(corp, 0) for p in behind)
            while start < head:
                upto = min(head, start + JOURNAL_STEP)
                with self.db.read() as conn:
                    rows = conn.execute(select(jr.journal.c.no, jr.journal.c.new_ids, jr.journal.c.changed_ids)
                                        .where(jr.journal.c.corp_id == corp, jr.journal.c.no > start,
                                               jr.journal.c.no <= upto).order_by(jr.journal.c.no)).all()
                wanted: dict[int, tuple[int, ...]] = {}  # message id -> the policies (indexes) that evaluate it
                for no, new, changed in rows:
                    needing = tuple(k for k, p in enumerate(behind) if p.marks.get(corp, 0) < no)
                    for mid in (*jr.unpack_ids(new), *jr.unpack_ids(changed)):
                        had = wanted.get(mid, needing)
                        wanted[mid] = needing if had == needing else tuple(sorted({*had, *needing}))
                ids = sorted(wanted)
                recipients = any(p.recipients for p in behind)
                for i in range(0, len(ids), CHUNK):
                    with self.db.read() as conn:
                        candidates = [_candidate(r, recipients) for r in conn.execute(_FETCH, {"ids": ids[i:i + CHUNK]})]
                    nodes = self._resolved(behind, candidates)
                    for c in candidates:
                        report.messages += 1
                        for k in wanted[c.id]:
                            if matches(nodes[k], c):
                                hits.append((behind[k], c))
                start = upto
            for p in behind:
                advanced.append((p.row.id, corp, p.marks.get(corp), head))
        self._write(actor, policies, hits, advanced, report)
        report.seconds = time.perf_counter() - started
        return report

    def _resolved(self, policies: list[_Compiled], candidates: list[Candidate]) -> list[Node]:
        """The policies' queries with their review terms resolved for ``candidates`` alone (what
        is read follows the batch, not the number of messages tagged or reviewed in the archive)."""
        if not any(p.review_terms for p in policies):
            return [p.node for p in policies]
        from .facts import resolve_review_terms

        messages = [(c.id, c.corp_id, c.session_id) for c in candidates]
        return [resolve_review_terms(self.db, p.node, Actor.system(SYSTEM), messages=messages)
                if p.review_terms else p.node for p in policies]

    def _write(self, actor: Actor, policies: list[_Compiled], hits: list[tuple[_Compiled, Candidate]],
               advanced: list[tuple[int, int, int | None, int]], report: RunReport, *,
               look_back: bool = False) -> None:
        m = T.policy_marks.c
        now = now_ms()
        try:
            with self.db.write() as conn:
                for pid, corp, old, new in advanced:  # compare and advance: first, so they lock
                    if old is None:
                        try:
                            with conn.begin_nested():
                                conn.execute(insert(T.policy_marks).values(policy_id=pid, corp_id=corp, last_no=new))
                        except IntegrityError:
                            raise _Conflict() from None
                    elif conn.execute(update(T.policy_marks).where(m.policy_id == pid, m.corp_id == corp,
                                                                   m.last_no == old).values(last_no=new)).rowcount != 1:
                        raise _Conflict()
                fresh = self._new_hits(conn, hits)
                for p, _c in fresh:
                    report.hits[p.row.name] = report.hits.get(p.row.name, 0) + 1
                self._alerts(conn, fresh, report, now)
                if policies:
                    conn.execute(update(T.policies).where(T.policies.c.id.in_([p.row.id for p in policies]))
                                 .values(last_run_at=now))
                if report.alerts:
                    self.trail.record(actor, Action.REVIEW_POLICY_RUN, object_type="policy",
                                      object=sorted(report.hits),
                                      detail={**report.to_dict(), "look_back": look_back,
                                              "alerts": sorted(report.raised + report.updated)[:1000]}, conn=conn)
        except _Conflict:
            report.hits.clear()
            report.raised.clear()
            report.updated.clear()
            report.reopened.clear()
            raise

    @staticmethod
    def _new_hits(conn, hits: list[tuple[_Compiled, Candidate]]) -> list[tuple[_Compiled, Candidate]]:
        """Drop hits a policy had already (a recalled message evaluated again, a look back)."""
        h = T.alert_hits.c
        by_policy: dict[int, list[int]] = {}
        for p, c in hits:
            by_policy.setdefault(p.row.id, []).append(c.id)
        have: set[tuple[int, int]] = set()
        for pid, mids in by_policy.items():
            mids = sorted(set(mids))
            for i in range(0, len(mids), CHUNK):
                have.update((pid, mid) for mid in conn.execute(select(h.message_id).where(
                    h.policy_id == pid, h.message_id.in_(mids[i:i + CHUNK]))).scalars())
        out, seen = [], set()
        for p, c in hits:
            k = (p.row.id, c.id)
            if k not in have and k not in seen:
                seen.add(k)
                out.append((p, c))
        return out

    def _alerts(self, conn, fresh: list[tuple[_Compiled, Candidate]], report: RunReport, now: int) -> None:
        """Raise or join the alert of each (policy, corp, session, day) of ``fresh`` and store the
        hits. The alerts concerned are read, inserted and updated a few statements at a time, not
        one group at a time: a sync batch's hits fall into hundreds of groups."""
        groups: dict[tuple[int, int, str, str], list[tuple[_Compiled, Candidate]]] = {}
        for p, c in fresh:
            groups.setdefault((p.row.id, c.corp_id, c.session_id, local_day(c.msgtime, self.tz)), []).append((p, c))
        existing = self._existing_alerts(conn, groups)
        new_rows, joined, reopened = [], [], []
        hit_rows = []
        for key, items in groups.items():
            pid, corp, sid, day = key
            p = items[0][0]
            times = [c.msgtime for _p, c in items]
            row = existing.get(key)
            if row is None:
                alert_id = self.db.ids.next_id()
                new_rows.append({"id": alert_id, "policy_id": pid, "corp_id": corp, "session_id": sid, "day": day,
                                 "status": "open", "hits": len(items), "new_hits": len(items),
                                 "first_msgtime": min(times), "last_msgtime": max(times),
                                 "assignee_key": p.row.assignee_key, "assignee": p.row.assignee,
                                 "created_at": now, "updated_at": now})
                report.raised.append(alert_id)
            else:
                alert_id = row.id
                change = {"alert": alert_id, "n": len(items), "first": min(row.first_msgtime, *times),
                          "last": max(row.last_msgtime, *times)}
                if row.status == "dismissed":
                    reopened.append(change)
                    report.reopened.append(alert_id)
                else:
                    joined.append(change)
                report.updated.append(alert_id)
            hit_rows += [{"policy_id": pid, "message_id": c.id, "alert_id": alert_id, "corp_id": corp,
                          "msgtime": c.msgtime, "at": now} for _p, c in items]
        for i in range(0, len(new_rows), CHUNK):
            conn.execute(insert(T.alerts), new_rows[i:i + CHUNK])
        # Joined, the status stays as it is (open, or escalated: new hits are counted on it).
        for changes, status in ((joined, None), (reopened, "open")):
            for i in range(0, len(changes), ALERTS_PER_UPDATE):
                self._add_hits(conn, changes[i:i + ALERTS_PER_UPDATE], now, status)
        for i in range(0, len(hit_rows), CHUNK):
            conn.execute(insert(T.alert_hits), hit_rows[i:i + CHUNK])

    @staticmethod
    def _add_hits(conn, changes: list[dict], now: int, status: str | None) -> None:
        """Count new hits on alerts (``changes``: alert, n, first, last) in one statement — a CASE
        on the alert's id per column — not one per alert, each a round trip on MySQL."""
        a = T.alerts.c

        def each(key: str):
            return case({ch["alert"]: ch[key] for ch in changes}, value=a.id)

        values = {"hits": a.hits + each("n"), "new_hits": a.new_hits + each("n"), "first_msgtime": each("first"),
                  "last_msgtime": each("last"), "updated_at": now}
        if status is not None:
            values["status"] = status
        conn.execute(update(T.alerts).where(a.id.in_([ch["alert"] for ch in changes])).values(**values))

    @staticmethod
    def _existing_alerts(conn, groups: Iterable[tuple[int, int, str, str]]) -> dict[tuple[int, int, str, str], Any]:
        """The alerts already raised for these (policy, corp, session, day) groups, by group — and
        maybe a few others (a session of one group on the day of another): per policy and corp, one
        lookup of the sessions and days concerned on the alerts' unique key, whatever the number of
        alerts raised before."""
        a = T.alerts.c
        by_owner: dict[tuple[int, int], tuple[set[str], set[str]]] = {}
        for pid, corp, sid, day in groups:
            sessions, days = by_owner.setdefault((pid, corp), (set(), set()))
            sessions.add(sid)
            days.add(day)
        found = {}
        for (pid, corp), (sessions, days) in by_owner.items():
            ordered = sorted(sessions)
            for i in range(0, len(ordered), CHUNK):
                for r in conn.execute(select(a.id, a.session_id, a.day, a.status, a.first_msgtime, a.last_msgtime)
                                      .where(a.policy_id == pid, a.corp_id == corp,
                                             a.session_id.in_(ordered[i:i + CHUNK]), a.day.in_(sorted(days)))):
                    found[(pid, corp, r.session_id, r.day)] = r
        return found

    def look_back(self, actor: Actor, search, since_ms: int, *, policy_ids: Sequence[int] | None = None) -> RunReport:
        """Raise alerts for what the policies match among messages since ``since_ms``, through the
        search index (marks unchanged; hits a policy has already are skipped)."""
        started = time.perf_counter()
        report = RunReport()
        policies = [p for p in self._load(policy_ids, set(SCHEDULES), False)]
        reader = Actor.system(SYSTEM, roles=frozenset({"reviewer"}))
        hits: list[tuple[_Compiled, Candidate]] = []
        for p in policies:
            before = None
            while True:  # newest first, down to since_ms
                page = search.query(reader, p.row.query, limit=2000, before=before)
                recent = [h.message for h in page if h.message.msgtime >= since_ms]
                hits += [(p, Candidate(id=m.id, corp_id=m.corp_id, msgtime=m.msgtime, sender=m.sender, tolist=m.tolist,
                                       session_id=m.session_id, roomid=m.roomid, msgtype=m.msgtype,
                                       session_type=m.session_type, has_media=m.has_media,
                                       recalled=m.recalled_at is not None, content_text="")) for m in recent]
                report.messages += len(recent)
                if len(page) < 2000 or len(recent) < len(page):
                    break
                before = page[-1].cursor()
        self._write(actor, policies, hits, [], report, look_back=True)
        report.seconds = time.perf_counter() - started
        return report


class PolicyFollower:
    """Evaluates the policies on a background thread while a sync writes batches: ``poke()`` after
    each commit, ``close()`` at the end (which evaluates what is left). A failure never stops the
    sync: it is logged, and the next evaluation picks the messages up (the marks did not move)."""

    def __init__(self, db: Database, *, on_report: Callable[[RunReport], None] | None = None):
        self.db = db
        self.on_report = on_report
        self.engine = PolicyEngine(db)
        self._event = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="review-policy-follower", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._event.set()

    def _once(self, *, last: bool = False) -> None:
        try:
            report = self.engine.evaluate(schedules=("sync",), due_daily=last)
            if self.on_report is not None and report.alerts:
                self.on_report(report)
        except Exception:  # noqa: BLE001 — derived work: never let it stop a sync
            log.exception("evaluating the review policies failed; the next evaluation will pick the messages up")

    def _run(self) -> None:
        while True:
            self._event.wait()
            self._event.clear()
            if self._stop:
                break
            self._once()
            time.sleep(0.2)  # coalesce batches
        self._once(last=True)

    def close(self) -> None:
        self._stop = True
        self._event.set()
        self._thread.join()


__all__ = ["SCHEDULES", "PolicyEngine", "PolicyFollower", "PolicyRow", "PolicyService", "RunReport",
           "account_key", "check_policy_query", "local_day", "reviewer_key"]
