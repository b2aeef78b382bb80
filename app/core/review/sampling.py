"""Sampling: review N % (or N) of a staff group's conversations each week, chosen at random among
those without alerts, as a review queue an auditor can reproduce.

A **rule** (administrators, ``review.manage``) names the group — staff userids and/or departments,
as an account's scope does — and the size: a percentage of the week's candidates (rounded up) or a
number of conversations. A **draw** (reviewers, ``review.write``) takes one week (Monday 00:00 to
Monday 00:00, local time): the candidates are the conversations a member of the group takes part in
that have messages in that week and no alert about that week, within the drawer's scope, in a fixed
order (corp, session id); a fresh 128-bit seed picks the sample with Python's ``random.Random(seed)
.sample(candidates, size)`` (Mersenne Twister, stable across Python versions). The draw keeps the
rule as it was, the seed, the candidates and their SHA-256, so :meth:`reproduce` recomputes the same
sample from them, and also recomputes the candidates from the archive to show whether anything
changed since (late messages, later alerts). One draw per rule and week; it is recorded
(``review.sample``) with the seed and the candidates' digest.

A drawn conversation is done when a reviewer's "reviewed up to here" mark covers its last message
of that week.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import and_, exists, insert, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.auth.scope import ScopeSpec, participant_in, resolve_scope, session_condition
from app.core.dates import local_ms
from app.core.store.db import now_ms
from app.core.store.models import Message, Session

from . import tables as T
from .common import MAX_NAME, Base, ReviewError, check_text, fold, reviewer_key

MAX_CANDIDATES = 200_000


@dataclass(frozen=True)
class RuleRow:
    id: int
    name: str
    userids: tuple[str, ...]
    departments: tuple[str, ...]
    percent: int | None
    sessions: int | None
    corp_id: int | None
    created_by: str
    created_at: int
    disabled: bool

    def describe(self) -> str:
        size = f"{self.percent}%" if self.percent else f"{self.sessions} conversations"
        group = "; ".join(p for p in (", ".join(self.userids), ", ".join(self.departments)) if p)
        return f"{self.name}: {size} a week of {group}'s conversations without alerts"


@dataclass(frozen=True)
class SampleItem:
    corp_id: int
    session_id: str
    position: int
    reviewed: bool
    reviewed_by: str | None
    reviewed_at: int | None


@dataclass(frozen=True)
class DrawRow:
    id: int
    rule_id: int
    rule: str
    period_start: int
    period_end: int
    seed: str
    candidates: int
    candidates_sha256: str
    excluded: int
    size: int
    drawn_by: str
    mine: bool
    drawn_at: int
    done: int = 0  # sessions of the sample reviewed


@dataclass(frozen=True)
class Reproduction:
    draw_id: int
    same_sample: bool  # the stored seed and candidates give the stored sample
    candidates_now: int
    same_candidates: bool  # the archive gives the same candidates today
    added: int  # candidates today that were not then (late messages), and
    removed: int  # candidates then that are not now (alerts raised later, retention)

    def describe(self) -> str:
        first = ("the stored seed and candidates give exactly the stored sample" if self.same_sample
                 else "the stored seed and candidates do NOT give the stored sample: the draw was altered")
        if self.same_candidates:
            second = "the archive gives the same candidates today"
        else:
            second = (f"the archive gives other candidates today ({self.added} more, {self.removed} fewer: messages "
                      f"stored or alerts raised after the draw)")
        return f"draw #{self.draw_id}: {first}; {second}"


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def candidates_digest(candidates: list[tuple[int, str]]) -> str:
    return hashlib.sha256("".join(f"{c} {s}\n" for c, s in candidates).encode("ascii")).hexdigest()


def pick(candidates: list[tuple[int, str]], seed: str, size: int) -> list[tuple[int, str]]:
    """The sample a seed (hex) draws from candidates in their stored order."""
    return random.Random(int(seed, 16)).sample(candidates, min(size, len(candidates)))


def _check_rule(userids, departments, percent: int | None, sessions: int | None) -> ScopeSpec:
    """The rule's group; ReviewError for an empty group or a size that is not exactly one of a
    percentage (1-100) and a number of conversations (1-10,000)."""
    spec = ScopeSpec(frozenset(userids), frozenset(departments))
    if spec.unlimited:
        raise ReviewError("a sampling rule needs staff (userids) or departments", "抽样规则需要指定员工（userid）或部门")
    if (percent is None) == (sessions is None):
        raise ReviewError("a sampling rule takes either a percentage or a number of conversations",
                          "抽样规则需要百分比或会话数（二选一）")
    if percent is not None and not 1 <= percent <= 100:
        raise ReviewError("the percentage is between 1 and 100", "百分比应在 1 到 100 之间")
    if sessions is not None and not 1 <= sessions <= 10_000:
        raise ReviewError("the number of conversations is between 1 and 10,000", "会话数应在 1 到 10,000 之间")
    return spec


def _check_name_free(conn, name: str, own: int | None) -> None:
    """ReviewError if another enabled rule has the name ``name``."""
    q = select(T.sampling_rules.c.name).where(T.sampling_rules.c.disabled_at.is_(None))
    if own is not None:
        q = q.where(T.sampling_rules.c.id != own)
    if any(fold(n) == fold(name) for n in conn.execute(q).scalars()):
        raise ReviewError(f"a sampling rule named '{name}' exists already: choose another name",
                          f"已有名为“{name}”的抽样规则：请换一个名称")


def _rule(r) -> RuleRow:
    return RuleRow(r.id, r.name, tuple(json.loads(r.userids or "[]")), tuple(json.loads(r.departments or "[]")),
                   r.percent, r.sessions, r.corp_id, r.created_by, r.created_at, r.disabled_at is not None)


class SamplingService(Base):
    """Sampling rules, draws and their queues (see the module docstring)."""

    # ------------------------------------------------------------------ rules
    def rules(self, actor: Actor, *, include_disabled: bool = False) -> list[RuleRow]:
        if not R.can(actor, R.REVIEW_MANAGE):
            self._read(actor, "sampling rules")
        q = select(T.sampling_rules).order_by(T.sampling_rules.c.name)
        if not include_disabled:
            q = q.where(T.sampling_rules.c.disabled_at.is_(None))
        with self._reading() as conn:
            return [_rule(r) for r in conn.execute(q)]

    def rule(self, actor: Actor, name_or_id: str | int) -> RuleRow:
        for r in self.rules(actor, include_disabled=True):
            if str(r.id) == str(name_or_id) or fold(r.name) == fold(str(name_or_id)):
                return r
        raise ReviewError(f"there is no sampling rule '{name_or_id}'", f"没有抽样规则“{name_or_id}”")

    def create_rule(self, actor: Actor, name: str, *, userids=(), departments=(), percent: int | None = None,
                    sessions: int | None = None, corp_id: int | None = None) -> RuleRow:
        """A rule (``review.manage``): ``percent`` (1-100) or ``sessions`` (1-10,000), of the staff in
        ``userids`` and the departments in ``departments``."""
        name = check_text(name, ("rule's name", "规则名称"), limit=MAX_NAME)
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_SAMPLING, "sampling rule", name)
        spec = _check_rule(userids, departments, percent, sessions)
        with self._write() as conn:
            _check_name_free(conn, name, None)
            rid = self.db.ids.next_id()
            values = {"name": name, "userids": json.dumps(sorted(spec.userids), ensure_ascii=False),
                      "departments": json.dumps(sorted(spec.departments), ensure_ascii=False),
                      "percent": percent, "sessions": sessions, "corp_id": corp_id}
            conn.execute(insert(T.sampling_rules).values(id=rid, created_by=actor.username, created_at=now_ms(),
                                                         **values))
            self.trail.record(actor, Action.REVIEW_SAMPLING, object_type="sampling rule", object=name,
                              detail={"change": "create", **values}, conn=conn)
        return self.rule(actor, rid)

    def update_rule(self, actor: Actor, name_or_id: str | int, *, name: str | None = None,
                    userids: Sequence[str] | None = None, departments: Sequence[str] | None = None,
                    percent: int | None = None, sessions: int | None = None,
                    enabled: bool | None = None) -> RuleRow:
        """Change a rule (``review.manage``): its name, group, size (``percent`` or ``sessions``,
        either replaces the other) or whether it is enabled; recorded as ``old -> new``. Draws made
        before keep the rule as it was then (they reproduce with it)."""
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_SAMPLING, "sampling rule", str(name_or_id))
        r = self.rule(actor, name_or_id)
        new_name = r.name if name is None else check_text(name, ("rule's name", "规则名称"), limit=MAX_NAME)
        new_userids = r.userids if userids is None else tuple(userids)
        new_departments = r.departments if departments is None else tuple(departments)
        new_percent, new_sessions = (r.percent, r.sessions) if percent is None and sessions is None else (
            percent, sessions)
        spec = _check_rule(new_userids, new_departments, new_percent, new_sessions)
        values: dict = {}
        changes: dict = {}
        for field, old, new in (("name", r.name, new_name), ("userids", sorted(r.userids), sorted(spec.userids)),
                                ("departments", sorted(r.departments), sorted(spec.departments)),
                                ("percent", r.percent, new_percent), ("sessions", r.sessions, new_sessions)):
            if old != new:
                values[field] = json.dumps(new, ensure_ascii=False) if isinstance(new, list) else new
                changes[field] = f"{old} -> {new}"
        if enabled is not None and enabled == r.disabled:
            values["disabled_at"] = None if enabled else now_ms()
            changes["enabled"] = f"{not r.disabled} -> {enabled}"
        if not values:
            return r
        stays_enabled = not r.disabled if enabled is None else enabled
        with self._write() as conn:
            if stays_enabled and ("name" in values or enabled):  # the enabled rules have distinct names
                _check_name_free(conn, new_name, r.id)
            conn.execute(update(T.sampling_rules).where(T.sampling_rules.c.id == r.id).values(**values))
            self.trail.record(actor, Action.REVIEW_SAMPLING, object_type="sampling rule", object=r.name,
                              detail={"change": "update", **changes}, conn=conn)
        return self.rule(actor, r.id)

    def disable_rule(self, actor: Actor, name_or_id: str | int) -> RuleRow:
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_SAMPLING, "sampling rule", str(name_or_id))
        r = self.rule(actor, name_or_id)
        with self._write() as conn:
            conn.execute(update(T.sampling_rules).where(T.sampling_rules.c.id == r.id).values(disabled_at=now_ms()))
            self.trail.record(actor, Action.REVIEW_SAMPLING, object_type="sampling rule", object=r.name,
                              detail={"change": "disable"}, conn=conn)
        return self.rule(actor, r.id)

    # ------------------------------------------------------------------ draws
    def _week(self, day: date | None) -> tuple[int, int]:
        if day is None:  # the last full week
            today = datetime.fromtimestamp(now_ms() / 1000, self.tz).date() if self.tz else date.today()
            day = week_of(today) - timedelta(days=7)
        monday = week_of(day)
        start = local_ms(datetime(monday.year, monday.month, monday.day), self.tz)
        nxt = monday + timedelta(days=7)
        return start, local_ms(datetime(nxt.year, nxt.month, nxt.day), self.tz)

    def _candidates(self, conn, actor: Actor, rule: RuleRow, start: int, end: int) -> tuple[list[tuple[int, str]], int]:
        """The week's candidates in draw order, and how many conversations alerts excluded."""
        group = resolve_scope(conn, ScopeSpec(frozenset(rule.userids), frozenset(rule.departments))) or frozenset()
        if not group:
            return [], 0
        s = Session.__table__
        q = select(s.c.corp_id, s.c.session_id).where(
            participant_in(conn, s.c.participants, group), session_condition(conn, actor.scope, s),
            s.c.first_msgtime < end, s.c.last_msgtime >= start,
            exists(select(Message.id).where(Message.corp_id == s.c.corp_id, Message.session_id == s.c.session_id,
                                            Message.msgtime >= start, Message.msgtime < end)))
        if rule.corp_id is not None:
            q = q.where(s.c.corp_id == rule.corp_id)
        active = sorted((c, sid) for c, sid in conn.execute(q))
        a = T.alerts.c
        alerted = {(c, sid) for c, sid in conn.execute(select(a.corp_id, a.session_id).where(
            a.first_msgtime < end, a.last_msgtime >= start).distinct())}
        out = [k for k in active if k not in alerted]
        return out, len(active) - len(out)

    def draw(self, actor: Actor, rule: str | int, *, week: date | None = None) -> DrawRow:
        """Draw the rule's sample of the week holding ``week`` (default: last week). ReviewError if
        that week was drawn already (see :meth:`draws`) or has no candidates."""
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_SAMPLE, "sampling rule", str(rule))
        r = self.rule(actor, rule)
        if r.disabled:
            raise ReviewError(f"the sampling rule '{r.name}' is disabled", f"抽样规则“{r.name}”已停用")
        start, end = self._week(week)
        d = T.sample_draws.c
        with self._write() as conn:
            if conn.execute(select(d.id).where(d.rule_id == r.id, d.period_start == start)).first() is not None:
                raise ReviewError(f"the week of {_day(start, self.tz)} was drawn already for '{r.name}': work "
                                  f"through that sample (`sample list`)",
                                  f"“{r.name}”已为 {_day(start, self.tz)} 这一周抽过样：请审阅该样本（`sample list`）")
            candidates, excluded = self._candidates(conn, actor, r, start, end)
            if not candidates:
                raise ReviewError(f"'{r.name}' has no conversation without alerts in the week of {_day(start, self.tz)}",
                                  f"“{r.name}”在 {_day(start, self.tz)} 这一周没有无告警的会话")
            if len(candidates) > MAX_CANDIDATES:
                raise ReviewError(f"the week has {len(candidates):,} candidates; a draw takes at most {MAX_CANDIDATES:,}",
                                  f"这一周有 {len(candidates):,} 个候选会话，一次抽样最多 {MAX_CANDIDATES:,} 个")
            size = math.ceil(len(candidates) * r.percent / 100) if r.percent else min(r.sessions or 0, len(candidates))
            seed = secrets.token_hex(16)
            picked = pick(candidates, seed, size)
            digest = candidates_digest(candidates)
            draw_id = self.db.ids.next_id()
            rule_doc = {"id": r.id, "name": r.name, "userids": list(r.userids), "departments": list(r.departments),
                        "percent": r.percent, "sessions": r.sessions, "corp_id": r.corp_id,
                        "drawer_scope": None if actor.scope is None else sorted(actor.scope)}
            conn.execute(insert(T.sample_draws).values(
                id=draw_id, rule_id=r.id, period_start=start, period_end=end, seed=seed,
                rule=json.dumps(rule_doc, ensure_ascii=False), candidates=json.dumps(candidates),
                candidates_sha256=digest, excluded=excluded, size=len(picked), drawn_by_key=reviewer_key(actor),
                drawn_by=actor.username, drawn_at=now_ms()))
            conn.execute(insert(T.sample_items), [{"draw_id": draw_id, "corp_id": c, "session_id": sid, "position": i}
                                                  for i, (c, sid) in enumerate(picked, 1)])
            self.trail.record(actor, Action.REVIEW_SAMPLE, object_type="sample", object=str(draw_id),
                              detail={"rule": r.name, "week": _day(start, self.tz), "period": [start, end],
                                      "seed": seed, "candidates": len(candidates), "candidates_sha256": digest,
                                      "excluded_for_alerts": excluded, "size": len(picked),
                                      "sessions": [sid for _c, sid in picked][:1000]}, conn=conn)
        return self.get(actor, draw_id)

    def draws(self, actor: Actor, *, mine: bool = False, open_only: bool = False) -> list[DrawRow]:
        """Draws, newest first, with how many of their conversations are reviewed (``review.read``)."""
        self._read(actor, "samples")
        d = T.sample_draws.c
        q = select(T.sample_draws).order_by(d.drawn_at.desc())
        if mine:
            q = q.where(d.drawn_by_key == reviewer_key(actor))
        with self._reading() as conn:
            rows = conn.execute(q).all()
        out = [self._draw(actor, r) for r in rows]
        if open_only:
            out = [x for x in out if x.done < x.size]
        return out

    def get(self, actor: Actor, draw_id: int) -> DrawRow:
        self._read(actor, "sample", str(draw_id))
        with self._reading() as conn:
            r = conn.execute(select(T.sample_draws).where(T.sample_draws.c.id == draw_id)).first()
        if r is None:
            raise ReviewError(f"there is no sample #{draw_id}", f"没有样本 #{draw_id}")
        return self._draw(actor, r)

    def _draw(self, actor: Actor, r) -> DrawRow:
        items = self._items(r, actor=None)
        return DrawRow(r.id, r.rule_id, json.loads(r.rule).get("name", ""), r.period_start, r.period_end, r.seed,
                       len(json.loads(r.candidates)), r.candidates_sha256, r.excluded, r.size, r.drawn_by,
                       r.drawn_by_key == reviewer_key(actor), r.drawn_at, sum(1 for i in items if i.reviewed))

    def items(self, actor: Actor, draw_id: int) -> list[SampleItem]:
        """The drawn conversations in draw order, in the actor's scope, each with whether it is reviewed."""
        self._read(actor, "sample", str(draw_id))
        with self._reading() as conn:
            r = conn.execute(select(T.sample_draws).where(T.sample_draws.c.id == draw_id)).first()
        if r is None:
            raise ReviewError(f"there is no sample #{draw_id}", f"没有样本 #{draw_id}")
        return self._items(r, actor=actor)

    def _items(self, r, actor: Actor | None) -> list[SampleItem]:
        i, m = T.sample_items.c, T.marks.c
        with self._reading() as conn:
            rows = conn.execute(select(i.corp_id, i.session_id, i.position).where(i.draw_id == r.id)
                                .order_by(i.position)).all()
            if actor is not None:
                allowed = self._sessions_in_scope(conn, actor, [(x.corp_id, x.session_id) for x in rows])
                rows = [x for x in rows if (x.corp_id, x.session_id) in allowed]
            out = []
            for x in rows:
                last = conn.execute(select(Message.msgtime, Message.id).where(
                    Message.corp_id == x.corp_id, Message.session_id == x.session_id, Message.msgtime < r.period_end)
                    .order_by(Message.msgtime.desc(), Message.id.desc()).limit(1)).first()
                done = None
                if last is not None:
                    done = conn.execute(select(m.reviewer, m.marked_at).where(
                        m.corp_id == x.corp_id, m.session_id == x.session_id,
                        (m.upto_msgtime > last.msgtime) | and_(m.upto_msgtime == last.msgtime, m.upto_id >= last.id))
                        .order_by(m.marked_at).limit(1)).first()
                out.append(SampleItem(x.corp_id, x.session_id, x.position, done is not None,
                                      done.reviewer if done else None, done.marked_at if done else None))
            return out

    def reproduce(self, actor: Actor, draw_id: int) -> Reproduction:
        """Recompute the draw from its seed and candidates, and the candidates from the archive now
        (``review.read``; recorded as ``review.sample`` with the outcome)."""
        self._read(actor, "sample", str(draw_id))
        with self._reading() as conn:
            r = conn.execute(select(T.sample_draws).where(T.sample_draws.c.id == draw_id)).first()
            if r is None:
                raise ReviewError(f"there is no sample #{draw_id}", f"没有样本 #{draw_id}")
            stored = [(int(c), s) for c, s in json.loads(r.candidates)]
            items = [(x.corp_id, x.session_id) for x in conn.execute(
                select(T.sample_items.c.corp_id, T.sample_items.c.session_id)
                .where(T.sample_items.c.draw_id == r.id).order_by(T.sample_items.c.position))]
            rule_doc = json.loads(r.rule)
            rule = RuleRow(rule_doc["id"], rule_doc["name"], tuple(rule_doc["userids"]), tuple(rule_doc["departments"]),
                           rule_doc["percent"], rule_doc["sessions"], rule_doc["corp_id"], "", 0, False)
            scope = rule_doc.get("drawer_scope")
            drawer = Actor("sampling", scope=None if scope is None else frozenset(scope))
            now, _excluded = self._candidates(conn, drawer, rule, r.period_start, r.period_end)
        same_sample = (candidates_digest(stored) == r.candidates_sha256
                       and pick(stored, r.seed, r.size) == items)
        result = Reproduction(r.id, same_sample, len(now), now == stored, len(set(now) - set(stored)),
                              len(set(stored) - set(now)))
        self.trail.record(actor, Action.REVIEW_SAMPLE, object_type="sample", object=str(r.id),
                          detail={"change": "reproduce", "same_sample": result.same_sample,
                                  "same_candidates": result.same_candidates, "added": result.added,
                                  "removed": result.removed},
                          outcome="ok" if same_sample else "failed")
        return result


def _day(ms: int, tz: tzinfo | None) -> str:
    from .policies import local_day

    return local_day(ms, tz)

