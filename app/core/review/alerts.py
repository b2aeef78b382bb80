"""Alerts: the review queue policies fill (app/core/review/policies.py), and their triage.

An alert is one policy's matches in one session on one day, with a status — ``open``,
``dismissed`` (with a reason: a false positive, nothing to act on) or ``escalated`` (with a reason,
optionally to someone) — and an assignee. Reviewers (``review.write``) assign, dismiss, escalate
and reopen alerts of sessions in their scope; every triage is recorded (``review.alert``) with
the reason's SHA-256 and length (the reason itself stays in the alert: it may quote a message).
Auditors (``review.read``) see every alert, who triaged it and when, but not the reasons' text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.store.db import now_ms

from . import tables as T
from .common import CHUNK, Base, ReviewError, check_text, reviewer_key
from .policies import account_key

STATES = ("open", "dismissed", "escalated")
ACTIONS = ("assign", "dismiss", "escalate", "reopen")
MAX_LIST = 10_000


@dataclass(frozen=True)
class AlertRow:
    id: int
    policy_id: int
    policy: str
    corp_id: int
    session_id: str
    day: str
    status: str
    hits: int
    new_hits: int  # since the last triage
    first_msgtime: int
    last_msgtime: int
    assignee: str | None
    mine: bool
    reason: str | None  # None for readers who may not see it
    triaged_by: str | None
    triaged_at: int | None
    created_at: int
    updated_at: int


class AlertService(Base):
    """Alerts and triage (see the module docstring). Thread-safe; call off the GUI thread."""

    def list(self, actor: Actor, *, status: str | None = "open", assignee: str | None = None,
             policy: int | None = None, session: tuple[int, str] | None = None, limit: int = 500,
             before: tuple[int, int] | None = None) -> list[AlertRow]:
        """Alerts of sessions in scope, most recently updated first (``review.read``). ``status``:
        one of STATES or None for all; ``assignee``: "me", "none" or a user name; ``before``: the
        (updated_at, id) of the last alert of the previous page."""
        self._read(actor, "alerts")
        if status is not None and status not in STATES:
            raise ReviewError(f"'{status}' is not an alert status: use one of {', '.join(STATES)}",
                              f"“{status}”不是告警状态：请使用 {', '.join(STATES)} 之一")
        a = T.alerts.c
        q = select(T.alerts, T.policies.c.name.label("policy_name")).join(T.policies, T.policies.c.id == a.policy_id)
        if status is not None:
            q = q.where(a.status == status)
        if assignee == "me":
            q = q.where(a.assignee_key == reviewer_key(actor))
        elif assignee == "none":
            q = q.where(a.assignee_key.is_(None))
        elif assignee:
            q = q.where(a.assignee_key == account_key(self.db, assignee)[0])
        if policy is not None:
            q = q.where(a.policy_id == policy)
        if session is not None:
            q = q.where(a.corp_id == session[0], a.session_id == session[1])
        if before is not None:
            q = q.where((a.updated_at < before[0]) | ((a.updated_at == before[0]) & (a.id < before[1])))
        q = q.order_by(a.updated_at.desc(), a.id.desc())
        limit = max(1, min(limit, MAX_LIST))
        out: list[AlertRow] = []
        with self._reading() as conn:
            last = None
            while len(out) < limit:  # pages, since the scope filter runs here
                page = q if last is None else q.where((a.updated_at < last[0]) | ((a.updated_at == last[0]) &
                                                                                 (a.id < last[1])))
                rows = conn.execute(page.limit(limit * 2)).all()
                if not rows:
                    break
                allowed = self._sessions_in_scope(conn, actor, sorted({(r.corp_id, r.session_id) for r in rows}))
                out += [self._row(actor, r) for r in rows if (r.corp_id, r.session_id) in allowed]
                if len(rows) < limit * 2 or actor.scope is None:
                    break
                last = (rows[-1].updated_at, rows[-1].id)
        return out[:limit]

    def get(self, actor: Actor, alert_id: int) -> AlertRow:
        self._read(actor, "alert", str(alert_id))
        with self._reading() as conn:
            r = conn.execute(select(T.alerts, T.policies.c.name.label("policy_name"))
                             .join(T.policies, T.policies.c.id == T.alerts.c.policy_id)
                             .where(T.alerts.c.id == alert_id)).first()
            if r is None or not self._sessions_in_scope(conn, actor, [(r.corp_id, r.session_id)]):
                raise ReviewError(f"there is no alert #{alert_id}", f"没有告警 #{alert_id}")
            return self._row(actor, r)

    def hits(self, actor: Actor, alert_id: int) -> list[tuple[int, int]]:
        """The (message id, msgtime) of the alert's matches, oldest first."""
        alert = self.get(actor, alert_id)
        h = T.alert_hits.c
        with self._reading() as conn:
            return [(r.message_id, r.msgtime) for r in conn.execute(
                select(h.message_id, h.msgtime).where(h.alert_id == alert.id).order_by(h.msgtime, h.message_id))]

    def _row(self, actor: Actor, r) -> AlertRow:
        return AlertRow(r.id, r.policy_id, r.policy_name, r.corp_id, r.session_id, r.day, r.status, r.hits,
                        r.new_hits, r.first_msgtime, r.last_msgtime, r.assignee,
                        r.assignee_key is not None and r.assignee_key == reviewer_key(actor),
                        r.reason if self._content(actor) else None, r.triaged_by, r.triaged_at, r.created_at,
                        r.updated_at)

    # ------------------------------------------------------------------ triage
    def triage(self, actor: Actor, alert_ids: Sequence[int], action: str, *, reason: str = "",
               assignee: str | None = None) -> list[AlertRow]:
        """``assign`` (to ``assignee``, "me" or None for nobody), ``dismiss`` and ``escalate`` (a
        reason is required; escalate may also assign), ``reopen``. ``review.write`` within the scope
        (PermissionDenied, recorded, and nothing changes if any alert is outside it)."""
        if action not in ACTIONS:
            raise ReviewError(f"'{action}' is not a triage action: use one of {', '.join(ACTIONS)}",
                              f"“{action}”不是告警处理操作：请使用 {', '.join(ACTIONS)} 之一")
        ids = list(dict.fromkeys(int(i) for i in alert_ids))
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_ALERT, "alert", [str(i) for i in ids[:100]])
        if not ids:
            raise ReviewError("no alert is chosen", "未选择告警")
        if action in ("dismiss", "escalate"):
            reason = check_text(reason, (f"reason to {action}", "驳回理由" if action == "dismiss" else "上报理由"))
        elif reason:
            reason = check_text(reason, ("reason", "理由"))
        key = shown = None
        if assignee == "me":
            key, shown = reviewer_key(actor), actor.username
        elif assignee:
            key, shown = account_key(self.db, assignee)
        elif action == "assign" and assignee is None:
            key = shown = None
        a = T.alerts.c
        with self._write() as conn:
            rows = []
            for i in range(0, len(ids), CHUNK):
                rows += conn.execute(select(a.id, a.corp_id, a.session_id, a.status, a.assignee)
                                     .where(a.id.in_(ids[i:i + CHUNK]))).all()
            missing = sorted(set(ids) - {r.id for r in rows})
            if missing:
                raise ReviewError(f"there is no alert #{missing[0]}", f"没有告警 #{missing[0]}")
            allowed = self._sessions_in_scope(conn, actor, sorted({(r.corp_id, r.session_id) for r in rows}))
            outside = [r.id for r in rows if (r.corp_id, r.session_id) not in allowed]
            if outside:
                self._deny(actor, Action.REVIEW_ALERT, "alert", [str(i) for i in outside[:100]])
            values: dict = {"triaged_by": actor.username, "triaged_at": now_ms(), "new_hits": 0}
            if action == "assign":
                values.update(assignee_key=key, assignee=shown)
            elif action == "reopen":
                values.update(status="open")
            else:
                values.update(status="dismissed" if action == "dismiss" else "escalated", reason=reason)
                if assignee:
                    values.update(assignee_key=key, assignee=shown)
            for i in range(0, len(ids), CHUNK):
                conn.execute(update(T.alerts).where(a.id.in_(ids[i:i + CHUNK])).values(**values))
            detail: dict = {"action": action, "alerts": len(ids),
                            "before": {str(r.id): {"status": r.status, "assignee": r.assignee} for r in rows[:100]}}
            if assignee is not None or action == "assign":
                detail["assignee"] = shown
            if reason:
                detail["reason_sha256"] = hashlib.sha256(reason.encode("utf-8")).hexdigest()
                detail["reason_characters"] = len(reason)
            self.trail.record(actor, Action.REVIEW_ALERT, object_type="alert", object=[str(i) for i in ids],
                              detail=detail, conn=conn)
        return [self.get(actor, i) for i in ids]

    # ------------------------------------------------------------------ counts
    def counts(self, actor: Actor) -> dict[str, int]:
        """Open alerts in scope: ``open``, ``mine`` (assigned to the actor), ``unassigned`` — for the
        window's status bar (``review.read``)."""
        self._read(actor, "alerts")
        a = T.alerts.c
        key = reviewer_key(actor)
        out = {"open": 0, "mine": 0, "unassigned": 0}
        with self._reading() as conn:
            rows = conn.execute(select(a.corp_id, a.session_id, a.assignee_key, func.count())
                                .where(a.status == "open").group_by(a.corp_id, a.session_id, a.assignee_key)).all()
            allowed = self._sessions_in_scope(conn, actor, sorted({(r[0], r[1]) for r in rows}))
        for corp, sid, assignee_key, n in rows:
            if (corp, sid) not in allowed:
                continue
            out["open"] += n
            if assignee_key == key:
                out["mine"] += n
            elif assignee_key is None:
                out["unassigned"] += n
        return out

    def policy_counts(self, actor: Actor) -> dict[int, tuple[int, int]]:
        """(alerts, of which open) per policy id, of sessions in scope — the policies' list for the
        administrator (``review.read`` or ``review.manage``: counts, no content)."""
        if not R.can(actor, R.REVIEW_MANAGE):
            self._read(actor, "alerts")
        a = T.alerts.c
        out: dict[int, tuple[int, int]] = {}
        with self._reading() as conn:
            rows = conn.execute(select(a.policy_id, a.corp_id, a.session_id, a.status == "open", func.count())
                                .group_by(a.policy_id, a.corp_id, a.session_id, a.status)).all()
            allowed = self._sessions_in_scope(conn, actor, sorted({(r[1], r[2]) for r in rows}))
        for pid, corp, sid, is_open, n in rows:
            if (corp, sid) in allowed:
                total, opened = out.get(pid, (0, 0))
                out[pid] = (total + n, opened + (n if is_open else 0))
        return out

    def session_counts(self, actor: Actor) -> dict[tuple[int, str], int]:
        """Open alerts per session in scope (the session tree's badges; ``review.read``)."""
        self._read(actor, "alerts")
        a = T.alerts.c
        with self._reading() as conn:
            rows = conn.execute(select(a.corp_id, a.session_id, func.count()).where(a.status == "open")
                                .group_by(a.corp_id, a.session_id)).all()
            allowed = self._sessions_in_scope(conn, actor, [(r[0], r[1]) for r in rows])
        return {(c, s): n for c, s, n in rows if (c, s) in allowed}

    def of_messages(self, conn, message_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """Unchecked: (policy name, alert status) of each message's hits (exports, the viewer)."""
        h, a = T.alert_hits.c, T.alerts.c
        out: dict[int, list[tuple[str, str]]] = {}
        ids = sorted(set(message_ids))
        for i in range(0, len(ids), CHUNK):
            for r in conn.execute(select(h.message_id, T.policies.c.name, a.status)
                                  .join(T.alerts, a.id == h.alert_id).join(T.policies, T.policies.c.id == h.policy_id)
                                  .where(h.message_id.in_(ids[i:i + CHUNK]))):
                out.setdefault(r.message_id, []).append((r.name, r.status))
        return out
