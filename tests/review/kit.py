"""A small archive for the review tests: the search tests' hand-made corpus (private chats and two
groups, ties, recalls), and accounts — root (administrator), alice (reviewer), bob (reviewer limited
to LiNa's conversations), carol (auditor), dave (administrator and reviewer)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from search.corpus import build_messages, write
from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth import AccountService, PasswordHasher, ScopeSpec, ScryptParams
from app.core.review import Review
from app.core.store.db import Database, open_database
from app.core.store.models import Message
from app.core.sync.pipeline import checkpoint, ensure_corp

FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))
PASSWORD = "review-pass-0001"


@dataclass
class Desk:
    db: Database
    corp: int
    review: Review
    root: Actor
    alice: Actor
    bob: Actor
    carol: Actor
    dave: Actor

    def rows(self) -> list[dict]:
        with self.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(
                Message.id, Message.msgid, Message.corp_id, Message.session_id, Message.msgtime, Message.sender,
                Message.tolist, Message.session_type).order_by(Message.msgtime, Message.id))]
        for r in rows:
            r["tolist"] = json.loads(r["tolist"])
        return rows

    def by_msgid(self, msgid: str) -> dict:
        return next(r for r in self.rows() if r["msgid"] == msgid)

    def session_of(self, msgid: str) -> tuple[int, str]:
        r = self.by_msgid(msgid)
        return r["corp_id"], r["session_id"]

    def add_messages(self, bodies: list[dict]) -> None:
        """Store more messages as a sync batch would (journal included)."""
        raws = [json.dumps({"action": "send", **b}, ensure_ascii=False).encode() for b in bodies]
        write(self.db, self.corp, raws, start_seq=checkpoint(self.db, self.corp))


def make_desk(db_url: str) -> Desk:
    db = open_database(db_url)
    corp = ensure_corp(db, "wwreview")
    write(db, corp, build_messages())
    accounts = AccountService(db, hasher=FAST)
    info = accounts.create_first_admin("root", PASSWORD)
    root = Actor("root", roles={"administrator"}, account_id=info.id)
    made = {}
    for name, roles, scope in (("alice", {"reviewer"}, None), ("bob", {"reviewer"}, ScopeSpec(frozenset({"LiNa"}))),
                               ("carol", {"auditor"}, None), ("dave", {"administrator", "reviewer"}, None)):
        accounts.create_account(root, name, PASSWORD, roles=roles, scope=scope, must_change_password=False)
        made[name] = accounts.authenticate(name, PASSWORD, "host")
    root = accounts.authenticate("root", PASSWORD, "host")
    return Desk(db, corp, Review(db, tz=UTC), root, made["alice"], made["bob"], made["carol"], made["dave"])


def audit(db: Database, action: str) -> list:
    """The audit entries of ``action``, oldest first."""
    from app.core.auth.audit import _record
    from app.core.store.models import AuditEntry

    log = AuditEntry.__table__
    with db.read() as conn:
        return [_record(r) for r in conn.execute(select(log).where(log.c.action == action).order_by(log.c.seq))]


__all__ = ["UTC", "Desk", "audit", "make_desk"]
