"""Writing the directory: current rows and their history, in the caller's transaction.

Every function takes an open connection of ``Database.write()`` and the time of the observation
(ms). Nothing WeCom said is deleted: a name that changes closes its ``contact_names`` period and
opens a new one, someone leaving the permit list ends a stretch, a member missing from a room gets
``left_seen_at``, a consent state that changes becomes a new row. Statements are parameterised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, insert, select, update

from app.core.store.db import Database
from app.core.store.models import (
    ArchivePermit,
    ConsentRecord,
    Contact,
    ContactName,
    DirectoryAvatar,
    DirectoryDepartment,
    DirectoryGroup,
    DirectoryGroupMember,
)

ID_CHARS = 191  # the id columns
NAME_CHARS = 255  # names, organisations, positions


def _text(value: object, limit: int = NAME_CHARS) -> str:
    """A value WeCom gave as text, made storable: text only, no NUL or lone surrogates, cut to the column."""
    if not isinstance(value, str):
        return ""
    value = value.replace("\x00", "")
    if any("\ud800" <= c <= "\udfff" for c in value):
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value.strip()[:limit]


def valid_id(value: object) -> bool:
    """An id the archive can store and look up: non-empty text of at most 191 characters, no NUL."""
    return (isinstance(value, str) and 0 < len(value) <= ID_CHARS and value.strip() == value and "\x00" not in value
            and not any("\ud800" <= c <= "\udfff" for c in value))


@dataclass
class ContactFacts:
    """What one source says of one id. ``None`` for the optional facts means "not said": the stored
    value stays (a names file knows no avatars; user/simplelist knows no positions)."""

    userid: str
    name: str
    kind: str  # staff / external / room / robot
    organisation: str = ""
    corp_name: str | None = None
    corp_full_name: str | None = None
    ext_type: int | None = None
    position: str | None = None
    status: int | None = None
    avatar_url: str | None = None

    def __post_init__(self):
        self.name = _text(self.name)
        self.organisation = _text(self.organisation)
        if self.corp_name is not None:
            self.corp_name = _text(self.corp_name)
        if self.corp_full_name is not None:
            self.corp_full_name = _text(self.corp_full_name)
        if self.position is not None:
            self.position = _text(self.position)
        if self.avatar_url is not None:
            self.avatar_url = _text(self.avatar_url, 2048)


@dataclass
class ContactChanges:
    new: int = 0  # ids that had no name
    renamed: int = 0  # ids whose name changed (a history period opened)
    moved: int = 0  # ids whose organisation alone changed (department, customer's corp): a period opened too
    unchanged: int = 0
    removed: int = 0  # ids dropped from contacts (names file import only; their history stays)


def apply_contacts(conn, db: Database, corp_id: int, facts: Iterable[ContactFacts], *, now: int, source: str,
                   replace: bool = False) -> ContactChanges:
    """Store ``facts`` as the current names of ``corp_id`` and keep the history: a new id or a changed
    name/organisation opens a ``contact_names`` period from ``now`` (closing the previous one).
    ``source``: ``"import"`` or the API the names came from (``"user/get"``). A fact with an empty
    name is skipped. ``replace``: ids not in ``facts`` leave ``contacts`` (their history stays and
    is closed at ``now``) — what a names file import does."""
    current = {r.userid: r for r in conn.execute(select(
        Contact.id, Contact.userid, Contact.name, Contact.kind, Contact.organisation, Contact.corp_name,
        Contact.corp_full_name,
        Contact.ext_type, Contact.position, Contact.status, Contact.avatar_url, Contact.source)
        .where(Contact.corp_id == corp_id))}
    open_names = {r.userid: r for r in conn.execute(select(ContactName.id, ContactName.userid, ContactName.name,
                                                            ContactName.organisation)
                                                     .where(ContactName.corp_id == corp_id,
                                                            ContactName.valid_to.is_(None)))}
    changes = ContactChanges()
    seen: set[str] = set()
    inserts, updates, history, closes = [], [], [], []
    kind_source = "api" if source != "import" else "import"
    for f in facts:
        if not valid_id(f.userid) or not f.name or f.userid in seen:
            continue
        seen.add(f.userid)
        row = current.get(f.userid)
        values = {"name": f.name, "kind": f.kind, "organisation": f.organisation, "source": kind_source,
                  "updated_at": now}
        for key in ("corp_name", "corp_full_name", "ext_type", "position", "status", "avatar_url"):
            value = getattr(f, key)
            if value is not None:
                values[key] = value
        if row is None:
            inserts.append({"id": db.ids.next_id(), "corp_id": corp_id, "userid": f.userid,
                            "corp_name": "", "corp_full_name": "", "ext_type": None, "position": "", "status": None,
                            "avatar_url": None, "avatar_sha256": None, **values})
        elif any(getattr(row, k) != v for k, v in values.items() if k != "updated_at"):
            if values.get("avatar_url", row.avatar_url) != row.avatar_url:
                values["avatar_sha256"] = None  # a new picture: downloaded again
            updates.append({"_id": row.id, **{k: values.get(k, getattr(row, k)) for k in (
                "name", "kind", "organisation", "source", "corp_name", "corp_full_name", "ext_type", "position",
                "status", "avatar_url")}, "updated_at": now, "_reset_avatar": "avatar_sha256" in values})
        was = open_names.get(f.userid)
        if was is None or was.name != f.name or was.organisation != f.organisation:
            if was is not None:
                closes.append({"_id": was.id, "valid_to": now})
            history.append({"id": db.ids.next_id(), "corp_id": corp_id, "userid": f.userid, "kind": f.kind,
                            "name": f.name, "organisation": f.organisation, "valid_from": now, "valid_to": None,
                            "source": source[:32]})
            if row is None and was is None:
                changes.new += 1
            elif was is None or was.name != f.name:
                changes.renamed += 1
            else:
                changes.moved += 1
        else:
            changes.unchanged += 1
    if replace:
        gone = [r for uid, r in current.items() if uid not in seen]
        for i in range(0, len(gone), 500):
            conn.execute(delete(Contact).where(Contact.id.in_([r.id for r in gone[i:i + 500]])))
        closes.extend({"_id": r.id, "valid_to": now} for uid, r in open_names.items() if uid not in seen)
        changes.removed = len(gone)
    if inserts:
        conn.execute(insert(Contact), inserts)
    plain = [u for u in updates if not u["_reset_avatar"]]
    reset = [u for u in updates if u["_reset_avatar"]]
    columns = ("name", "kind", "organisation", "source", "corp_name", "corp_full_name", "ext_type", "position",
               "status", "avatar_url", "updated_at")
    for batch, extra in ((plain, {}), (reset, {"avatar_sha256": None})):
        if batch:
            stmt = (update(Contact).where(Contact.id == bindparam("_id"))
                    .values(**{c: bindparam(c) for c in columns}, **extra))
            conn.execute(stmt, [{k: v for k, v in u.items() if k != "_reset_avatar"} for u in batch])
    if closes:
        conn.execute(update(ContactName).where(ContactName.id == bindparam("_id"))
                     .values(valid_to=bindparam("valid_to")), closes)
    if history:
        conn.execute(insert(ContactName), history)
    return changes


def apply_departments(conn, db: Database, corp_id: int, departments: list[dict], *, now: int,
                      complete: bool) -> int:
    """Store departments ({"id", "name", "parentid", "order"}); ``complete``: the list is all of them
    (departments not in it are removed). Returns how many are stored."""
    current = {r.dept_id: r for r in conn.execute(select(DirectoryDepartment).where(
        DirectoryDepartment.corp_id == corp_id))}
    seen = set()
    for d in departments:
        dept_id = d["id"]
        seen.add(dept_id)
        values = {"name": _text(d.get("name")), "parent_id": d.get("parentid"), "sort_order": d.get("order") or 0,
                  "updated_at": now}
        row = current.get(dept_id)
        if row is None:
            conn.execute(insert(DirectoryDepartment).values(id=db.ids.next_id(), corp_id=corp_id, dept_id=dept_id,
                                                            **values))
        elif (row.name, row.parent_id, row.sort_order) != (values["name"], values["parent_id"], values["sort_order"]):
            if not values["name"]:
                values["name"] = row.name  # department/simplelist gives no names: keep the known one
            conn.execute(update(DirectoryDepartment).where(DirectoryDepartment.id == row.id).values(**values))
    if complete:
        gone = [r.id for k, r in current.items() if k not in seen]
        if gone:
            conn.execute(delete(DirectoryDepartment).where(DirectoryDepartment.id.in_(gone)))
    return len(seen)


def department_names(conn, corp_id: int) -> dict[int, str]:
    return dict(conn.execute(select(DirectoryDepartment.dept_id, DirectoryDepartment.name)
                             .where(DirectoryDepartment.corp_id == corp_id)).all())


@dataclass
class GroupFacts:
    roomid: str
    name: str
    owner: str
    kind: str  # internal / customer
    created_time: int | None  # ms
    notice: str
    members: list[dict]  # {"userid", "member_type", "join_time" (ms), "join_scene", "invitor"}


def apply_group(conn, db: Database, corp_id: int, g: GroupFacts, *, now: int) -> tuple[int, int]:
    """Store a room and its members; members listed before but not now get ``left_seen_at``.
    Returns (members listed, members who left since the last sync)."""
    row = conn.execute(select(DirectoryGroup.id).where(DirectoryGroup.corp_id == corp_id,
                                                       DirectoryGroup.roomid == g.roomid)).first()
    values = {"name": _text(g.name), "owner": _text(g.owner, ID_CHARS), "notice": _text(g.notice, 100_000),
              "created_time": g.created_time, "kind": g.kind, "member_count": len(g.members), "fetched_at": now,
              "errcode": None}
    if row is None:
        conn.execute(insert(DirectoryGroup).values(id=db.ids.next_id(), corp_id=corp_id, roomid=g.roomid, **values))
    else:
        conn.execute(update(DirectoryGroup).where(DirectoryGroup.id == row.id).values(**values))
    current = {r.userid: r for r in conn.execute(select(DirectoryGroupMember).where(
        DirectoryGroupMember.corp_id == corp_id, DirectoryGroupMember.roomid == g.roomid))}
    listed = set()
    for m in g.members:
        userid = m["userid"]
        if not valid_id(userid) or userid in listed:
            continue
        listed.add(userid)
        values = {"member_type": m.get("member_type"), "join_time": m.get("join_time"),
                  "join_scene": m.get("join_scene"), "invitor": _text(m.get("invitor"), ID_CHARS),
                  "last_seen_at": now, "left_seen_at": None}
        r = current.get(userid)
        if r is None:
            conn.execute(insert(DirectoryGroupMember).values(id=db.ids.next_id(), corp_id=corp_id, roomid=g.roomid,
                                                             userid=userid, first_seen_at=now, **values))
        else:
            conn.execute(update(DirectoryGroupMember).where(DirectoryGroupMember.id == r.id).values(**values))
    left = [r.id for uid, r in current.items() if uid not in listed and r.left_seen_at is None]
    if left:
        conn.execute(update(DirectoryGroupMember).where(DirectoryGroupMember.id.in_(left)).values(left_seen_at=now))
    return len(listed), len(left)


def note_group_refused(conn, db: Database, corp_id: int, roomid: str, errcode: int | None, *, now: int) -> None:
    """WeCom would not describe ``roomid``: keep what is known of it, with the errcode."""
    row = conn.execute(select(DirectoryGroup.id).where(DirectoryGroup.corp_id == corp_id,
                                                       DirectoryGroup.roomid == roomid)).first()
    if row is None:
        conn.execute(insert(DirectoryGroup).values(id=db.ids.next_id(), corp_id=corp_id, roomid=roomid, name="",
                                                   owner="", notice=None, created_time=None, kind="unknown",
                                                   member_count=0, fetched_at=None, errcode=errcode))
    else:
        conn.execute(update(DirectoryGroup).where(DirectoryGroup.id == row.id).values(errcode=errcode))


def apply_permits(conn, db: Database, corp_id: int, userids: Iterable[str], *, now: int) -> tuple[int, int, int]:
    """The permit list as WeCom gives it now: stretches of those still on it go on, of those missing
    end (``removed_seen_at``), new ones start. Returns (on the list, added, removed)."""
    listed = {u for u in userids if valid_id(u)}
    open_rows = {r.userid: r.id for r in conn.execute(select(ArchivePermit.id, ArchivePermit.userid).where(
        ArchivePermit.corp_id == corp_id, ArchivePermit.removed_seen_at.is_(None)))}
    still = [open_rows[u] for u in listed if u in open_rows]
    for i in range(0, len(still), 500):
        conn.execute(update(ArchivePermit).where(ArchivePermit.id.in_(still[i:i + 500])).values(last_seen_at=now))
    removed = [i for u, i in open_rows.items() if u not in listed]
    for i in range(0, len(removed), 500):
        conn.execute(update(ArchivePermit).where(ArchivePermit.id.in_(removed[i:i + 500]))
                     .values(removed_seen_at=now))
    added = [{"id": db.ids.next_id(), "corp_id": corp_id, "userid": u, "added_seen_at": now, "last_seen_at": now,
              "removed_seen_at": None} for u in sorted(listed - set(open_rows))]
    if added:
        conn.execute(insert(ArchivePermit), added)
    return len(listed), len(added), len(removed)


@dataclass(frozen=True)
class ConsentFacts:
    roomid: str  # "" for one-to-one
    userid: str  # the staff member ("" for a room)
    external_userid: str
    status: str  # agree / disagree / default_agree, or WeCom's word lower-cased
    changed_at: int | None  # ms


def apply_consent(conn, db: Database, corp_id: int, facts: Iterable[ConsentFacts], *, now: int) -> tuple[int, int]:
    """Store consent states: the same state as last time only refreshes ``last_seen_at``; a different
    one (or another change time) is a new row. Returns (states seen, changes recorded)."""
    facts = [f for f in facts if valid_id(f.external_userid) and (not f.roomid or valid_id(f.roomid))]
    externals = sorted({f.external_userid for f in facts})
    latest: dict[tuple[str, str, str], tuple[int, str, int | None]] = {}
    for i in range(0, len(externals), 500):
        for r in conn.execute(select(ConsentRecord.id, ConsentRecord.roomid, ConsentRecord.userid,
                                     ConsentRecord.external_userid, ConsentRecord.status, ConsentRecord.changed_at)
                              .where(ConsentRecord.corp_id == corp_id,
                                     ConsentRecord.external_userid.in_(externals[i:i + 500]))
                              .order_by(ConsentRecord.first_seen_at, ConsentRecord.id)):
            latest[(r.roomid, r.userid, r.external_userid)] = (r.id, r.status, r.changed_at)
    seen, new, refresh = 0, [], []
    done: set[tuple[str, str, str]] = set()
    for f in facts:
        key = (f.roomid, f.userid, f.external_userid)
        if key in done:
            continue
        done.add(key)
        seen += 1
        last = latest.get(key)
        if last is not None and last[1] == f.status and last[2] == f.changed_at:
            refresh.append(last[0])
            continue
        new.append({"id": db.ids.next_id(), "corp_id": corp_id, "roomid": f.roomid, "userid": f.userid,
                    "external_userid": f.external_userid, "status": _text(f.status, 32), "changed_at": f.changed_at,
                    "first_seen_at": now, "last_seen_at": now})
    for i in range(0, len(refresh), 500):
        conn.execute(update(ConsentRecord).where(ConsentRecord.id.in_(refresh[i:i + 500])).values(last_seen_at=now))
    if new:
        conn.execute(insert(ConsentRecord), new)
    return seen, len(new)


def store_avatar(conn, corp_id: int, userids: list[str], digest: str, data: bytes, width: int, height: int, *,
                 now: int) -> None:
    """Keep an avatar (by the SHA-256 of ``data``) and point ``userids``' contacts at it."""
    if conn.execute(select(DirectoryAvatar.sha256).where(DirectoryAvatar.sha256 == digest)).first() is None:
        conn.execute(insert(DirectoryAvatar).values(sha256=digest, data=data, width=width, height=height,
                                                    created_at=now))
    conn.execute(update(Contact).where(and_(Contact.corp_id == corp_id, Contact.userid.in_(userids)))
                 .values(avatar_sha256=digest))


__all__ = ["ConsentFacts", "ContactChanges", "ContactFacts", "GroupFacts", "apply_consent", "apply_contacts",
           "apply_departments", "apply_group", "apply_permits", "department_names", "note_group_refused",
           "store_avatar", "valid_id"]
