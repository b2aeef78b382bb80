"""Display names for ids: the Finance SDK gives userids, external ids and roomids only.

Names come from a directory import: a JSON file of the shape the demo corpus' ``truth.json`` has
(``directory`` userid → name, ``departments``, ``external_corps``, ``robots``, ``groups`` roomid →
{name, ...}). Where no name is known, callers show the id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth.roles import ACCOUNTS_MANAGE, require
from app.core.store.db import Database, now_ms
from app.core.store.models import Contact
from app.core.sync.writer import insert_many


def import_directory(db: Database, corp_id: int, path: Path, *, actor: Actor) -> int:
    """Import (replace) the names in ``path``; returns how many ids got a name. The departments
    decide department scopes, so this needs ``settings.change`` (PermissionDenied, recorded,
    otherwise) and records ``directory.import`` in the same transaction."""
    from app.core.auth.audit import Action, AuditTrail
    from app.core.auth.roles import SETTINGS_CHANGE

    trail = AuditTrail(db)
    trail.require(actor, SETTINGS_CHANGE, action=Action.DIRECTORY_IMPORT, object_type="file", object=str(path))
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    departments = doc.get("departments") or {}
    external_corps = doc.get("external_corps") or {}
    robots = set(doc.get("robots") or [])
    rows: dict[str, dict] = {}
    now = now_ms()
    for userid, name in (doc.get("directory") or {}).items():
        kind = "robot" if userid in robots else "external" if userid in external_corps else "staff"
        rows[userid] = {"userid": userid, "name": str(name)[:255], "kind": kind,
                        "organisation": str(departments.get(userid) or external_corps.get(userid) or "")[:255]}
    for roomid, info in (doc.get("groups") or {}).items():
        name = info.get("name") if isinstance(info, dict) else info
        if name:
            rows[roomid] = {"userid": roomid, "name": str(name)[:255], "kind": "room", "organisation": ""}
    with db.write() as conn:
        conn.execute(Contact.__table__.delete().where(Contact.corp_id == corp_id))
        insert_many(conn, Contact.__table__, [
            {"id": db.ids.next_id(), "corp_id": corp_id, **r, "updated_at": now} for r in rows.values()])
        trail.record(actor, Action.DIRECTORY_IMPORT, object_type="file", object=str(path),
                     detail={"corp_id": corp_id, "names": len(rows)}, conn=conn)
    return len(rows)


class StaffMember(NamedTuple):
    userid: str
    name: str
    department: str  # contacts.organisation: what an account's scope names as a department


class Directory:
    """Names by id, cached per corp (small: one row per person or room)."""

    def __init__(self, db: Database):
        self.db = db
        self._cache: dict[int, dict[str, tuple[str, str, str]]] = {}

    def _load(self, corp_id: int) -> dict[str, tuple[str, str, str]]:
        if corp_id not in self._cache:
            with self.db.read() as conn:
                self._cache[corp_id] = {r.userid: (r.name, r.kind, r.organisation) for r in conn.execute(
                    select(Contact.userid, Contact.name, Contact.kind, Contact.organisation)
                    .where(Contact.corp_id == corp_id))}
        return self._cache[corp_id]

    def refresh(self) -> None:
        self._cache.clear()

    def name(self, actor: Actor, corp_id: int, userid: str) -> str | None:
        entry = self._load(corp_id).get(userid)
        return entry[0] if entry else None

    def label(self, actor: Actor, corp_id: int, userid: str) -> str:
        """The name where known, else the id itself."""
        return self.name(actor, corp_id, userid) or userid

    def labels(self, actor: Actor, corp_id: int, ids: Iterable[str]) -> list[str]:
        return [self.label(actor, corp_id, i) for i in ids]

    def organisation(self, actor: Actor, corp_id: int, userid: str) -> str:
        entry = self._load(corp_id).get(userid)
        return entry[2] if entry else ""

    def staff(self, actor: Actor) -> list[StaffMember]:
        """Every staff member of every corp (userid, name, department), by department and name, for
        choosing an account's scope. Needs ``accounts.manage``."""
        require(actor, ACCOUNTS_MANAGE)
        with self.db.read() as conn:
            rows = conn.execute(select(Contact.userid, Contact.name, Contact.organisation)
                                .where(Contact.kind == "staff")).all()
        members = {r.userid: StaffMember(r.userid, r.name, r.organisation) for r in rows}
        return sorted(members.values(), key=lambda m: (m.department, m.name, m.userid))

    def ids_matching(self, actor: Actor, corp_id: int, text: str) -> set[str]:
        """Ids whose id or name contains ``text`` (case-insensitive), e.g. for a filter box."""
        needle = text.casefold()
        return {uid for uid, (name, _, _) in self._load(corp_id).items()
                if needle in uid.casefold() or needle in name.casefold()}


__all__ = ["Directory", "StaffMember", "import_directory"]
