"""The review terms of the query language, answered from the review tables when a search runs.

``tag:``, ``status:``, ``reviewed:``, ``alert:``, ``policy:`` and ``has:note|tag|alert`` describe the
review, which changes whenever someone tags or reviews, so they are not in the search index. A
search replaces each of them with a :class:`~app.core.search.query.Resolved` node — the messages
it names, and stretches of sessions (a session's tag covers all its messages; a "reviewed up to
here" mark the messages up to it) — read in one go from the database; the index and the evaluator
match that node alike, so a result combining review terms with text and fields stays exactly what
a scan would give. The statuses follow app/core/review/status.py:

- ``status:reviewed`` — set reviewed on the message, or covered by a mark and not set otherwise;
- ``status:in_review`` — set in review on the message, or in a session put in review, after its
  furthest mark, and not set otherwise;
- ``status:unreviewed`` — neither.

``reviewed:me`` / ``reviewed:NAME`` are the messages that reviewer marked or set reviewed.

A policy evaluating a sync batch resolves its terms for the batch's messages only (``messages``):
what it reads then follows the batch, not the number of messages tagged, noted or reviewed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.core.actor import Actor
from app.core.search.query import (
    And,
    Field,
    Node,
    Not,
    Or,
    QueryError,
    Resolved,
    is_review_term,
)
from app.core.store.db import Database
from app.core.store.models import Account

from . import tables as T
from .common import CHUNK, fold, reviewer_key


def resolve_review_terms(db: Database, node: Node, actor: Actor, text: str = "", *,
                         messages: Sequence[tuple[int, int, str]] | None = None) -> Node:
    """``node`` with every review term replaced by what the review tables say now. QueryError
    (pointing into ``text``) for an unknown tag, policy or account.

    ``messages``: (id, corp_id, session_id) of the only messages the result will be matched
    against (a policy evaluating a batch): it matches them exactly as a full resolution would,
    and must not be matched against others."""
    with db.read() as conn:
        return _Resolver(conn, actor, text, messages).walk(node)


class _Resolver:
    def __init__(self, conn, actor: Actor, text: str, messages: Sequence[tuple[int, int, str]] | None = None):
        self.conn, self.actor, self.text = conn, actor, text
        self.only: list[int] | None = None  # the messages' ids
        self.sessions: dict[int, list[str]] = {}  # and their sessions, by corp
        if messages is not None:
            self.only = sorted({m[0] for m in messages})
            by_corp: dict[int, set[str]] = {}
            for _id, corp, sid in messages:
                by_corp.setdefault(corp, set()).add(sid or "")
            self.sessions = {corp: sorted(sids) for corp, sids in by_corp.items()}
        self._states: dict[int, str] | None = None
        self._marks: dict[tuple[int, str], tuple[int, int]] | None = None

    def rows(self, q, column) -> list:
        """The rows of ``q``; with ``only``, those whose message ``column`` is one of those
        messages (rows naming a whole session are selected by ``q`` itself, not by this)."""
        if self.only is None:
            return list(self.conn.execute(q))
        out: list = []
        for i in range(0, len(self.only), CHUNK):
            out += self.conn.execute(q.where(column.in_(self.only[i:i + CHUNK])))
        return out

    def walk(self, node: Node) -> Node:
        if isinstance(node, And):
            return And(tuple(self.walk(i) for i in node.items))
        if isinstance(node, Or):
            return Or(tuple(self.walk(i) for i in node.items))
        if isinstance(node, Not):
            return Not(self.walk(node.item))
        if isinstance(node, Field) and is_review_term(node):
            return self.term(node)
        return node

    def error(self, node: Field, message: str) -> QueryError:
        return QueryError(message, node.pos, self.text)

    def term(self, f: Field) -> Node:
        c = self.conn
        if f.name == "tag" or (f.name == "has" and f.value == "tag"):
            links = T.tag_links.c
            q = select(links.tag_id, links.corp_id, links.session_id, links.message_id)
            tags = [self.tag_id(f)] if f.name == "tag" else None  # None: any tag
            if self.only is None:
                found = list(c.execute(q if tags is None else q.where(links.tag_id == tags[0])))
            else:
                # The messages' links by the message index (the tag picked here), then their
                # sessions' own tags by the primary key: what is read follows the messages, not
                # the number of messages a tag has.
                found = [r for r in self.rows(q, links.message_id) if tags is None or r.tag_id in tags]
                every = tags or list(c.execute(select(T.tags.c.id)).scalars())
                for corp, sessions in self.sessions.items():
                    for i in range(0, len(sessions), CHUNK):
                        found += c.execute(q.where(links.tag_id.in_(every), links.corp_id == corp,
                                                   links.session_id.in_(sessions[i:i + CHUNK]),
                                                   links.message_id == T.SESSION))
            ids, stretches = set(), []
            for r in found:
                if r.message_id == T.SESSION:
                    stretches.append((r.corp_id, r.session_id, None, None))
                else:
                    ids.add(r.message_id)
            return Resolved(f, frozenset(ids), tuple(stretches))
        if f.name == "has" and f.value == "note":
            n = T.notes.c
            return Resolved(f, frozenset(r.message_id for r in self.rows(select(n.message_id).where(
                n.message_id != T.SESSION, n.withdrawn_at.is_(None)), n.message_id)))
        if (f.name == "has" and f.value == "alert") or f.name == "alert":
            h, a = T.alert_hits.c, T.alerts.c
            q = select(h.message_id)
            if f.name == "alert" and f.value != "any":
                q = q.join(T.alerts, a.id == h.alert_id).where(a.status == f.value)
            return Resolved(f, frozenset(r.message_id for r in self.rows(q, h.message_id)))
        if f.name == "policy":
            p, h = T.policies.c, T.alert_hits.c
            wanted = fold(f.value)
            found = [r.id for r in c.execute(select(p.id, p.name)) if fold(r.name) == wanted]
            if not found:
                names = ", ".join(sorted(r for r in c.execute(select(p.name)).scalars()))
                raise self.error(f, f"there is no policy '{f.value}'" + (f": the policies are {names}" if names else ""))
            return Resolved(f, frozenset(r.message_id for r in self.rows(
                select(h.message_id).where(h.policy_id.in_(found)), h.message_id)))
        if f.name == "reviewed":
            key = self.reviewer(f)
            s, m = T.states.c, T.marks.c
            ids = frozenset(r.message_id for r in self.rows(select(s.message_id).where(
                s.set_by_key == key, s.status == "reviewed", s.message_id != T.SESSION), s.message_id))
            stretches = tuple((r.corp_id, r.session_id, None, (r.upto_msgtime, r.upto_id)) for r in c.execute(
                select(m.corp_id, m.session_id, m.upto_msgtime, m.upto_id).where(m.reviewer_key == key)))
            return Resolved(f, ids, stretches)
        assert f.name == "status", f
        states, marks = self.states(), self.marks()
        explicit = frozenset(states)
        reviewed = Resolved(f, frozenset(i for i, st in states.items() if st == "reviewed"),
                            tuple((corp, sid, None, upto) for (corp, sid), upto in marks.items()), explicit)
        if f.value == "reviewed":
            return reviewed
        s = T.states.c
        sessions = c.execute(select(s.corp_id, s.session_id).where(s.message_id == T.SESSION,
                                                                   s.status == "in_review")).all()
        in_review = Resolved(f, frozenset(i for i, st in states.items() if st == "in_review"),
                             tuple((corp, sid, marks.get((corp, sid)), None) for corp, sid in sessions), explicit)
        if f.value == "in_review":
            return in_review
        return Not(Or((reviewed, in_review)))

    def tag_id(self, f: Field) -> int:
        wanted = fold(f.value)
        rows = self.conn.execute(select(T.tags).order_by(T.tags.c.position)).all()
        for r in rows:
            if wanted in (fold(r.key), fold(r.label_zh), fold(r.label_en)):
                return r.id
        known = ", ".join(f"{r.label_zh} ({r.label_en})" for r in rows if r.disabled_at is None)
        raise self.error(f, f"there is no tag '{f.value}': the tags are {known}")

    def reviewer(self, f: Field) -> str:
        if f.value.lower() == "me":
            return reviewer_key(self.actor)
        from app.core.auth.accounts import canonical_username

        try:
            name = canonical_username(f.value)
        except ValueError:
            name = None
        row = self.conn.execute(select(Account.id).where(Account.username == name)).first() if name else None
        if row is None:
            raise self.error(f, f"there is no account '{f.value}' (reviewed: takes a user name, or me)")
        return f"#{row.id}"

    def states(self) -> dict[int, str]:
        if self._states is None:
            s = T.states.c
            self._states = {r.message_id: r.status for r in self.rows(
                select(s.message_id, s.status).where(s.message_id != T.SESSION), s.message_id)}
        return self._states

    def marks(self) -> dict[tuple[int, str], tuple[int, int]]:
        """The furthest mark of each session."""
        if self._marks is None:
            m = T.marks.c
            out: dict[tuple[int, str], tuple[int, int]] = {}
            for r in self.conn.execute(select(m.corp_id, m.session_id, m.upto_msgtime, m.upto_id)):
                k = (r.corp_id, r.session_id)
                out[k] = max(out.get(k, (r.upto_msgtime, r.upto_id)), (r.upto_msgtime, r.upto_id))
            self._marks = out
        return self._marks
