"""Names for ids, as they are now and as they were when a message was sent.

The Finance SDK gives ids only. ``contacts`` holds each id's current name (from a directory sync or
an imported names file) and ``contact_names`` every name it held, with the period: the evidence
shows the name an id had at the message's time (:meth:`Directory.name_at`), and today's name beside
it where it changed. A message older than the first time the app saw a name gets the earliest name
known — the best the archive can say, and shown as such nowhere else.

The names are not message content (no permission is needed to read them), but everything shown
goes through :func:`app.core.safe_text.display_name` at the place it is shown.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth.roles import ACCOUNTS_MANAGE, require
from app.core.store.db import Database
from app.core.store.models import Contact, ContactName, DirectoryAvatar, DirectoryRun

WECHAT = "微信"  # the organisation of a WeChat (not WeCom) customer, as WeCom's client tags them


class StaffMember(NamedTuple):
    userid: str
    name: str
    department: str  # contacts.organisation: what an account's scope names as a department


@dataclass(frozen=True)
class Person:
    """What the directory knows of an id now. ``kind``: staff / external / room / robot."""

    userid: str
    name: str
    kind: str
    organisation: str  # staff: main department; external: its corp's full name ("微信" for WeChat users)
    corp_name: str = ""  # external: its corp's short name, as WeCom's client tags it
    corp_full_name: str = ""
    ext_type: int | None = None  # external: 1 WeChat, 2 WeCom
    position: str = ""
    status: int | None = None
    avatar_sha256: str | None = None
    source: str = "import"

    @property
    def corp_tag(self) -> str:
        """The tag WeCom's client shows after an external contact's name: ``@微信`` for a WeChat
        user, ``@<corp short name>`` for a WeCom user of another corp; "" for anyone else."""
        if self.kind != "external":
            return ""
        if self.ext_type == 1 or (self.ext_type is None and self.organisation == WECHAT):
            return "@" + WECHAT
        short = self.corp_name or self.organisation
        return "@" + short if short else ""


@dataclass(frozen=True)
class NameAt:
    """An id's name at one moment (``name``), its name now (``current``), both "" where unknown."""

    userid: str
    name: str
    current: str
    organisation: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.name and self.current and self.name != self.current)

    @property
    def label(self) -> str:
        """The name at that time, else today's, else the id."""
        return self.name or self.current or self.userid


@dataclass(frozen=True)
class DirectorySnapshot:
    """Where the names of a corp come from: its last directory sync or import that stored names."""

    run_id: int | None
    source: str  # api / import / "" (no directory yet)
    outcome: str
    at: int | None  # when it ended (ms)
    names: int  # ids with a name now


class _CorpNames:
    __slots__ = ("people", "history")

    def __init__(self, people: dict[str, Person], history: dict[str, tuple[list[int], list[tuple[str, str]]]]):
        self.people = people
        self.history = history  # userid -> ([valid_from, ...] ascending, [(name, organisation), ...])


class Directory:
    """Names by id per corp, read once and cached (one row per person, room and name change).

    Safe to use from several threads; :meth:`refresh` after a directory sync or import in this
    process (another workstation's changes show after the next refresh)."""

    def __init__(self, db: Database):
        self.db = db
        self._cache: dict[int, _CorpNames] = {}
        self._avatars: dict[str, bytes | None] = {}
        self._lock = threading.Lock()

    def _load(self, corp_id: int) -> _CorpNames:
        found = self._cache.get(corp_id)
        if found is not None:
            return found
        with self.db.read() as conn:
            people = {r.userid: Person(r.userid, r.name, r.kind, r.organisation, r.corp_name or "",
                                       r.corp_full_name or "", r.ext_type, r.position or "", r.status,
                                       r.avatar_sha256, r.source or "import")
                      for r in conn.execute(select(
                          Contact.userid, Contact.name, Contact.kind, Contact.organisation, Contact.corp_name,
                          Contact.corp_full_name,
                          Contact.ext_type, Contact.position, Contact.status, Contact.avatar_sha256, Contact.source)
                          .where(Contact.corp_id == corp_id))}
            history: dict[str, tuple[list[int], list[tuple[str, str]]]] = {}
            for r in conn.execute(select(ContactName.userid, ContactName.valid_from, ContactName.name,
                                         ContactName.organisation)
                                  .where(ContactName.corp_id == corp_id)
                                  .order_by(ContactName.userid, ContactName.valid_from, ContactName.id)):
                times, names = history.setdefault(r.userid, ([], []))
                times.append(r.valid_from)
                names.append((r.name, r.organisation))
        names = _CorpNames(people, history)
        with self._lock:
            self._cache[corp_id] = names
        return names

    def refresh(self) -> None:
        with self._lock:
            self._cache.clear()
            self._avatars.clear()

    # ------------------------------------------------------------------ now
    def person(self, actor: Actor, corp_id: int, userid: str) -> Person | None:
        return self._load(corp_id).people.get(userid)

    def people(self, actor: Actor, corp_id: int) -> list[Person]:
        """Everyone with a name in ``corp_id``'s directory, by kind and name."""
        return sorted(self._load(corp_id).people.values(), key=lambda p: (p.kind, p.name, p.userid))

    def name(self, actor: Actor, corp_id: int, userid: str) -> str | None:
        person = self._load(corp_id).people.get(userid)
        return person.name if person and person.name else None

    def label(self, actor: Actor, corp_id: int, userid: str) -> str:
        """The name where known, else the id itself."""
        return self.name(actor, corp_id, userid) or userid

    def labels(self, actor: Actor, corp_id: int, ids: Iterable[str]) -> list[str]:
        return [self.label(actor, corp_id, i) for i in ids]

    def organisation(self, actor: Actor, corp_id: int, userid: str) -> str:
        person = self._load(corp_id).people.get(userid)
        return person.organisation if person else ""

    def corp_tag(self, actor: Actor, corp_id: int, userid: str) -> str:
        """``@微信`` / ``@蓝鲸科技`` for an external contact (see :attr:`Person.corp_tag`), else ""."""
        person = self._load(corp_id).people.get(userid)
        return person.corp_tag if person else ""

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
        """Ids whose id, name (now or earlier) or organisation contains ``text`` (case-insensitive),
        e.g. for a filter box."""
        needle = text.casefold()
        corp = self._load(corp_id)
        found = {uid for uid, p in corp.people.items()
                 if needle in uid.casefold() or needle in p.name.casefold()
                 or (p.kind == "external" and needle in p.organisation.casefold())}
        found |= {uid for uid, (_, names) in corp.history.items() if any(needle in n.casefold() for n, _ in names)}
        return found

    # ------------------------------------------------------------------ then
    def name_at(self, actor: Actor, corp_id: int, userid: str, ms: int | None) -> NameAt:
        """``userid``'s name at ``ms`` (the period of ``contact_names`` holding it; before the first
        one, the earliest name known), and its name now. ``ms`` None: now."""
        corp = self._load(corp_id)
        person = corp.people.get(userid)
        current = person.name if person else ""
        found = corp.history.get(userid)
        if not found or ms is None:
            return NameAt(userid, current, current, person.organisation if person else "")
        times, names = found
        i = max(0, bisect.bisect_right(times, ms) - 1)
        name, organisation = names[i]
        return NameAt(userid, name or current, current, organisation)

    def history(self, actor: Actor, corp_id: int, userid: str) -> list[tuple[int, str, str]]:
        """(valid_from ms, name, organisation) of every name ``userid`` held, oldest first."""
        found = self._load(corp_id).history.get(userid)
        return [] if not found else [(t, n, o) for t, (n, o) in zip(*found, strict=True)]

    # ------------------------------------------------------------------ pictures and provenance
    def avatar(self, actor: Actor, corp_id: int, userid: str) -> bytes | None:
        """The PNG of ``userid``'s avatar as the last directory sync downloaded it, or None."""
        person = self._load(corp_id).people.get(userid)
        if person is None or not person.avatar_sha256:
            return None
        digest = person.avatar_sha256
        with self._lock:
            if digest in self._avatars:
                return self._avatars[digest]
        with self.db.read() as conn:
            data = conn.execute(select(DirectoryAvatar.data).where(DirectoryAvatar.sha256 == digest)).scalar()
        data = bytes(data) if data is not None else None
        with self._lock:
            if len(self._avatars) > 2000:
                self._avatars.clear()
            self._avatars[digest] = data
        return data

    def peek_avatar(self, corp_id: int, userid: str) -> bytes | None:
        """The avatar :meth:`avatar` has read already, without touching the database (for a GUI
        thread: read it with :meth:`avatar` on a worker first); None when not read or there is none."""
        with self._lock:
            corp = self._cache.get(corp_id)
            person = corp.people.get(userid) if corp is not None else None
            if person is None or not person.avatar_sha256:
                return None
            return self._avatars.get(person.avatar_sha256)

    def snapshot(self, actor: Actor, corp_id: int) -> DirectorySnapshot:
        """The directory's provenance for ``corp_id``: the newest sync or import that stored names
        (what an export's custody record cites)."""
        with self.db.read() as conn:
            r = conn.execute(select(DirectoryRun.id, DirectoryRun.source, DirectoryRun.outcome, DirectoryRun.ended_at)
                             .where(DirectoryRun.corp_id == corp_id,
                                    DirectoryRun.outcome.in_(("succeeded", "partial")))
                             .order_by(DirectoryRun.ended_at.desc(), DirectoryRun.id.desc()).limit(1)).first()
        names = sum(1 for p in self._load(corp_id).people.values() if p.name)
        if r is None:
            return DirectorySnapshot(None, "", "", None, names)
        return DirectorySnapshot(r.id, r.source, r.outcome, r.ended_at, names)
