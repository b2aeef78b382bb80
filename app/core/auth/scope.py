"""Scopes: which sessions an account may see.

An account's scope is stored as a :class:`ScopeSpec` — staff userids and/or department names (the
``organisation`` of staff rows in ``contacts``); both empty means every session. At login it is
resolved into ``Actor.scope``: a frozenset of userids, or None for "everything". A non-empty spec
whose departments have no members resolves to an *empty* set: that actor sees nothing, never all.

A session is in scope if any in-scope userid is among its ``participants`` (the JSON array in
``sessions``; for a group, everyone seen in it). A message is in scope if its session is; a
message without a session (none are written today) if its sender is in scope.

Use :func:`session_condition` / :func:`message_condition` as a WHERE clause (one bound parameter
whatever the number of userids on SQLite and on MySQL ≥ 8.0.17 / MariaDB ≥ 10.9), or
:func:`session_keys_in_scope` for the set of (corp_id, session_id) pairs, and
:func:`require_session_in_scope` to refuse one session.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from app.core.actor import Actor
from app.core.store.models import Contact, Message, Session

from .errors import PermissionDenied

_SESSIONS = Session.__table__
_MESSAGES = Message.__table__


@dataclass(frozen=True)
class ScopeSpec:
    """What an administrator sets: staff userids and department names (case-sensitive, exact)."""

    userids: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()

    def __post_init__(self):
        object.__setattr__(self, "userids", frozenset(u.strip() for u in self.userids if u and u.strip()))
        object.__setattr__(self, "departments", frozenset(d.strip() for d in self.departments if d and d.strip()))

    @property
    def unlimited(self) -> bool:
        return not self.userids and not self.departments

    def to_json(self) -> str:
        return json.dumps({"userids": sorted(self.userids), "departments": sorted(self.departments)},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> ScopeSpec:
        doc = json.loads(text or "{}")
        return cls(frozenset(doc.get("userids") or ()), frozenset(doc.get("departments") or ()))

    def describe(self) -> str:
        """E.g. ``everything`` or ``userids: a, b; departments: Sales``."""
        if self.unlimited:
            return "everything"
        parts = []
        if self.userids:
            parts.append("userids: " + ", ".join(sorted(self.userids)))
        if self.departments:
            parts.append("departments: " + ", ".join(sorted(self.departments)))
        return "; ".join(parts)


def resolve_scope(conn, spec: ScopeSpec) -> frozenset[str] | None:
    """The userids ``spec`` covers (departments looked up in ``contacts`` among staff, every corp),
    or None if ``spec`` is unlimited. ``conn`` is an open SQLAlchemy connection."""
    if spec.unlimited:
        return None
    ids = set(spec.userids)
    departments = sorted(spec.departments)
    for i in range(0, len(departments), 500):
        ids.update(conn.execute(select(Contact.userid).where(Contact.kind == "staff",
                                                             Contact.organisation.in_(departments[i:i + 500])))
                   .scalars())
    return frozenset(ids)


def _dialect(db_or_conn):
    engine = getattr(db_or_conn, "engine", None)
    return engine.dialect if engine is not None else db_or_conn.dialect


def _any_of(conditions: list) -> ColumnElement[bool]:
    # SQLite refuses expressions nested over 1,000 deep; chunks inside a function call stay flat.
    if len(conditions) <= 100:
        return or_(*conditions)
    return or_(*(func.coalesce(or_(*conditions[i:i + 100]), False) for i in range(0, len(conditions), 100)))


def participant_in(db_or_conn, participants, ids: Collection[str]) -> ColumnElement[bool]:
    """``participants`` (a column holding a JSON array of ids) contains one of ``ids``."""
    ids = sorted(set(ids))
    if not ids:
        return false()
    dialect = _dialect(db_or_conn)
    doc = json.dumps(ids, ensure_ascii=False)
    if dialect.name == "sqlite":
        mine = func.json_each(participants).table_valued("value").alias("scope_p")
        wanted = func.json_each(literal(doc)).table_valued("value").alias("scope_w")
        return exists(select(literal(1)).select_from(mine).where(mine.c.value.in_(select(wanted.c.value))))
    version = dialect.server_version_info or ()
    if version >= ((10, 9) if getattr(dialect, "is_mariadb", False) else (8, 0, 17)):
        return func.json_overlaps(participants, doc) == 1
    # Older servers: the id's JSON encoding, quotes included, occurs in the array (case-sensitive).
    return _any_of([func.instr(participants, json.dumps(i, ensure_ascii=False)) > 0 for i in ids])


def session_condition(db_or_conn, scope: frozenset[str] | None, sessions=_SESSIONS) -> ColumnElement[bool]:
    """WHERE clause on ``sessions`` (or an alias of it) keeping the sessions in ``scope``."""
    if scope is None:
        return true()
    return participant_in(db_or_conn, sessions.c.participants, scope)


def message_condition(db_or_conn, scope: frozenset[str] | None, messages=_MESSAGES) -> ColumnElement[bool]:
    """WHERE clause on ``messages`` (or an alias of it) keeping the messages in ``scope``."""
    if scope is None:
        return true()
    if not scope:
        return false()
    s = _SESSIONS.alias("scope_s")
    in_session = exists(select(literal(1)).select_from(s).where(
        s.c.corp_id == messages.c.corp_id, s.c.session_id == messages.c.session_id,
        session_condition(db_or_conn, scope, s)))
    return or_(in_session, and_(messages.c.session_id.is_(None), value_in(db_or_conn, messages.c.sender, scope)))


def value_in(db_or_conn, column, ids: Collection[str]) -> ColumnElement[bool]:
    """``column`` (a plain text column) is one of ``ids``: one bound parameter (a JSON array),
    never one per id (SQLite builds may allow as few as 32,766 parameters)."""
    ids = sorted(set(ids))
    if not ids:
        return false()
    doc = json.dumps(ids, ensure_ascii=False)
    if _dialect(db_or_conn).name == "sqlite":
        wanted = func.json_each(literal(doc)).table_valued("value").alias("scope_v")
        return column.in_(select(wanted.c.value))
    return func.json_contains(literal(doc), func.json_quote(column)) == 1


def session_keys_in_scope(db, scope: frozenset[str] | None, corp_id: int | None = None
                          ) -> set[tuple[int, str]] | None:
    """The (corp_id, session_id) of every session in ``scope`` (of one corp if given), or None
    for "every session" — callers then apply no filter."""
    if scope is None:
        return None
    q = select(_SESSIONS.c.corp_id, _SESSIONS.c.session_id).where(session_condition(db, scope))
    if corp_id is not None:
        q = q.where(_SESSIONS.c.corp_id == corp_id)
    with db.read() as conn:
        return {(c, s) for c, s in conn.execute(q)}


def session_in_scope(scope: frozenset[str] | None, participants: Iterable[str]) -> bool:
    """True if a session with these participants is in ``scope`` (None = everything)."""
    return scope is None or any(p in scope for p in participants)


def require_session_in_scope(actor: Actor, session_id: str, participants: Iterable[str]) -> None:
    """Raise :class:`PermissionDenied` if the session is outside ``actor.scope``."""
    if not session_in_scope(actor.scope, participants):
        raise PermissionDenied(f"session {session_id} is outside the scope of account '{actor.username}'",
                               f"会话 {session_id} 不在账号“{actor.username}”的范围内",
                               username=actor.username, permission="scope")
