"""A directory sync: people, departments, groups, the permit list and consent from WeCom's server API.

One run asks WeCom, phase by phase, and stores each phase in its own transaction with history
(app/core/directory/store.py), so a refusal or a failure later keeps what came before:

=============  ==========================================================================================
departments    ``department/list`` (names); refused: ``department/simplelist`` (ids only)
staff          ``user/list_id`` (cursor paging) then ``user/get`` per userid — also for staff ids seen in the
               archive but not listed (people who left: 60111); refused: ``user/simplelist`` (names only)
externals      ``externalcontact/get_follow_user_list`` → ``externalcontact/batch/get_by_user`` (100 staff
               a call, cursor paging), then ``externalcontact/get`` for external ids of the archive not found
groups         ``msgaudit/groupchat/get`` for every room of the archive (internal groups); refused for a
               room: ``externalcontact/groupchat/get`` (customer groups), members with join times
permits        ``msgaudit/get_permit_user_list``: who is under archiving now (stretches kept)
consent        ``msgaudit/check_single_agree`` for the staff/customer pairs of the archive's chats and of the
               customer relationships WeCom listed (100 a call),
               ``msgaudit/check_room_agree`` for rooms with external members
avatars        the pictures the answers point at, from WeCom's image servers (see avatars.py)
=============  ==========================================================================================

The secret for each API: msgaudit/* the chat-archive secret; user/ and department/ the contacts
secret if one is set, else the chat-archive secret; externalcontact/ the customer-contact secret,
else the contacts secret, else the chat-archive one. WeCom decides what each may call: a refusal
(48002, 60011 …) becomes one sentence in the report naming the API and the secret, and the run goes
on with what it may do. Tokens expiring, frequency limits and busy answers are handled by the client
(app/core/wecom/api.py). Every HTTP exchange's errcode is counted per API in the report.

A run is recorded in ``directory_runs`` (outcome succeeded / partial / failed / cancelled) and in
the audit trail (``directory.sync``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from app.core.actor import Actor
from app.core.messages.session import looks_like_external_userid
from app.core.store.db import Database, now_ms
from app.core.store.models import Contact, DirectoryGroupMember, Session
from app.core.wecom.api import (
    INTERCEPTED,
    UNREACHABLE,
    CallRecord,
    WeComAccessError,
    WeComApiError,
    WeComCancelled,
    WeComClient,
)
from app.core.wecom.errcodes import ARCHIVE, CONTACTS, CREDENTIAL_NAMES, CUSTOMER

from .avatars import MAX_AVATAR_BYTES, avatar_fetch_url, normalise_avatar
from .names import WECHAT
from .runs import CANCELLED, FAILED, PARTIAL, RUNNING, SUCCEEDED, Problem, record_run, running_since
from .store import (
    ConsentFacts,
    ContactFacts,
    GroupFacts,
    apply_consent,
    apply_contacts,
    apply_departments,
    apply_group,
    apply_permits,
    department_names,
    note_group_refused,
    store_avatar,
    valid_id,
)

PHASES = ("departments", "staff", "externals", "groups", "permits", "consent", "avatars")
# Errcodes that refuse an API as a whole (whatever object is asked about): the phase stops there.
API_WIDE = frozenset({40001, 40013, 41001, 41004, 48002, 60020, 301052})
MAX_PAGES = 100_000  # cursor pages of one listing: a server that never ends its paging is stopped
MAX_PROBLEM_IDS = 10
MAX_CONSENT_PAIRS = 200_000  # customer relationships asked about beyond the archive's own chats (2,000 calls)


class DirectoryBusy(RuntimeError):
    """Another directory sync of this corp is running (here or on another workstation)."""


class DirectoryCancelled(RuntimeError):
    pass


@dataclass
class DirectoryProgress:
    phase: str
    done: int
    total: int | None
    note: str = ""


@dataclass
class DirectoryReport:
    """What a directory sync did. ``calls``: per API, ``{"calls": n, "errcodes": {"0": n, "45009": n,
    "no answer": n}}``; ``problems``: the refusals as sentences; ``error``/``error_zh``: why it
    failed as a whole (None unless failed)."""

    run_id: int
    corpid: str
    outcome: str = RUNNING
    started_at: int = 0
    ended_at: int | None = None
    counts: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None
    error_zh: str | None = None

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "corpid": self.corpid, "outcome": self.outcome, "started_at": self.started_at,
                "ended_at": self.ended_at, "counts": self.counts, "calls": self.calls,
                "problems": [p.to_dict() for p in self.problems], "error": self.error}

    def summary(self) -> str:
        c = self.counts
        return (f"Directory sync {self.outcome}: {c.get('staff', 0)} staff, {c.get('departments', 0)} departments, "
                f"{c.get('externals', 0)} external contacts, {c.get('groups', 0)} groups, "
                f"{c.get('permits', 0)} on the permit list, {c.get('consent', 0)} consent states, "
                f"{c.get('avatars', 0)} avatars; {c.get('names_new', 0)} names new, "
                f"{c.get('names_changed', 0)} changed; {len(self.problems)} problem(s).")


@dataclass
class ArchiveIds:
    """The ids the archive holds, which the directory should name."""

    people: set[str] = field(default_factory=set)  # staff-like ids (not external, not robots)
    externals: set[str] = field(default_factory=set)
    rooms: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (staff, external) of one-to-one chats
    followers: set[tuple[str, str]] = field(default_factory=set)  # (staff, external) WeCom lists as following
    rooms_with_externals: set[str] = field(default_factory=set)


def _is_robot(userid: str) -> bool:
    return userid.startswith("wb") and 28 <= len(userid) <= 40


def _ms(seconds: object) -> int | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < 2**33:
        return None
    return int(seconds) * 1000


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and -2**62 < value < 2**62 else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def consent_status(value: object) -> str:
    """WeCom's agree_status as the archive keeps it: agree / disagree / default_agree (another word
    lower-cased, cut to 32 characters)."""
    text = _str(value).strip()
    return {"Agree": "agree", "Disagree": "disagree", "Default_Agree": "default_agree"}.get(text, text.lower()[:32])


class _PhaseStopped(Exception):
    """A refusal that ends the current phase (already noted as a problem)."""


class DirectorySync:
    """One directory sync of one corp through ``client`` (a WeComClient with the corp's secrets),
    on behalf of ``actor`` (who needs ``sync.run``; None: a scheduled job). Blocking; run it off the
    GUI thread. ``avatars``: also fetch pictures (at most ``max_avatars`` a run). ``max_lookups``
    caps the per-id calls for ids of the archive WeCom's listings did not give."""

    def __init__(self, db: Database, corp_id: int, client: WeComClient, actor: Actor | None = None, *,
                 avatars: bool = True, max_avatars: int = 5000, max_lookups: int = 5000):
        self.db = db
        self.corp_id = corp_id
        self.client = client
        self.actor = actor or Actor.system("scheduled-directory-sync")
        self.avatars = avatars
        self.max_avatars, self.max_lookups = max_avatars, max_lookups
        self.report = DirectoryReport(run_id=0, corpid=client.corpid)
        self._problems: dict[tuple[str, int | None, str], Problem] = {}
        self._dead: dict[str, WeComApiError] = {}  # credential -> its gettoken refusal
        self._refused: dict[str, WeComApiError] = {}  # api -> its refusal as a whole
        self._progress: Callable[[DirectoryProgress], None] | None = None
        self._cancel: Callable[[], bool] | None = None
        self._dept_names: dict[int, str] = {}
        client.on_call = self._count_call
        client.cancelled = self._cancelled

    # ------------------------------------------------------------------ bookkeeping
    def _cancelled(self) -> bool:
        return self._cancel is not None and self._cancel()

    def _check_cancel(self) -> None:
        if self._cancelled():
            raise DirectoryCancelled("the directory sync was cancelled")

    def _count_call(self, record: CallRecord) -> None:
        entry = self.report.calls.setdefault(record.api, {"calls": 0, "errcodes": {}})
        entry["calls"] += 1
        key = (str(record.errcode) if record.errcode is not None
               else "no answer" if record.http_status == 0 else f"HTTP {record.http_status}")
        entry["errcodes"][key] = entry["errcodes"].get(key, 0) + 1

    def _step(self, phase: str, done: int, total: int | None, note: str = "") -> None:
        if self._progress is not None:
            self._progress(DirectoryProgress(phase, done, total, note))

    def _problem(self, error: WeComAccessError, what: str | None = None) -> Problem:
        api = getattr(error, "api", "connection")
        key = (api, error.errcode, error.message_en if error.errcode is None else "")
        problem = self._problems.get(key)
        if problem is None:
            problem = self._problems[key] = Problem(api, error.errcode, error.message_en, error.message_zh, count=0)
            self.report.problems.append(problem)
        problem.count += 1
        if what and len(problem.ids) < MAX_PROBLEM_IDS:
            problem.ids.append(what)
        return problem

    def _note(self, api: str, en: str, zh: str, what: str | None = None) -> None:
        self._problem(WeComApiError(api, "refused", en, zh), what)

    def _credential(self, group: str) -> str:
        if group == "msgaudit":
            return ARCHIVE
        if group == "contacts":
            return CONTACTS if self.client.has(CONTACTS) else ARCHIVE
        return CUSTOMER if self.client.has(CUSTOMER) else CONTACTS if self.client.has(CONTACTS) else ARCHIVE

    def _call(self, api: str, group: str, **kw) -> dict:
        credential = self._credential(group)
        dead = self._dead.get(credential) or self._refused.get(api)
        if dead is not None:  # asked once already: the same answer, without asking WeCom again
            raise dead
        try:
            return self.client.call(api, credential=credential, **kw)
        except KeyError:  # no secret at all (a corp without one cannot get here: it has the chat-archive one)
            cred_en, cred_zh = CREDENTIAL_NAMES[credential]
            error = WeComApiError(api, "refused", f"{cred_en[0].upper()}{cred_en[1:]} is not set.",
                                  f"未设置{cred_zh}。", credential=credential)
            self._dead[credential] = error
            raise error from None
        except WeComApiError as exc:
            if exc.api == "gettoken":
                self._dead[credential] = exc
            elif exc.errcode in API_WIDE:
                self._refused[api] = exc
            raise

    def _wide(self, exc: WeComApiError) -> bool:
        """Whether ``exc`` refuses the API as a whole rather than the one object asked about."""
        return exc.api == "gettoken" or exc.errcode in API_WIDE or exc.errcode is None or exc.kind == "try_again"

    # ------------------------------------------------------------------ the run
    def run(self, progress: Callable[[DirectoryProgress], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> DirectoryReport:
        """Run every phase; returns the report (also when it failed: ``outcome`` and ``error`` say
        why). Raises PermissionDenied (recorded) without ``sync.run``, DirectoryBusy when another run
        of this corp is going on; database errors propagate (the run is recorded as failed first)."""
        from app.core.auth.audit import FAILED as AUDIT_FAILED
        from app.core.auth.audit import Action, AuditTrail
        from app.core.auth.roles import SYNC_RUN

        trail = AuditTrail(self.db)
        trail.require(self.actor, SYNC_RUN, action=Action.DIRECTORY_SYNC, object_type="corp",
                      object=self.client.corpid)
        since = running_since(self.db, self.corp_id)
        if since is not None:
            from app.core.dates import ms_to_local_text

            raise DirectoryBusy(f"a directory sync of corp {self.client.corpid} has been running since "
                                f"{ms_to_local_text(since)}; wait for it to finish")
        self._progress, self._cancel = progress, cancel
        report = self.report
        report.started_at = now_ms()
        with self.db.write() as conn:
            report.run_id = record_run(conn, self.db, self.corp_id, source="api", actor=self.actor,
                                       started_at=report.started_at, outcome=RUNNING, counts={}, calls={}, problems=[])
        counts = report.counts
        try:
            ids = self._archive_ids()
            for phase in PHASES:
                self._check_cancel()
                if phase == "avatars" and not self.avatars:
                    continue
                try:
                    getattr(self, "_" + phase)(ids, counts)
                except _PhaseStopped:
                    continue
            report.outcome = PARTIAL if report.problems else SUCCEEDED
            if all(counts.get(k, 0) == 0 for k in ("departments", "staff", "externals", "groups", "permits",
                                                    "consent")) and report.problems:
                report.outcome = FAILED
                report.error = "WeCom gave nothing: " + report.problems[0].en
                report.error_zh = "企业微信未返回任何数据：" + report.problems[0].zh
        except (DirectoryCancelled, WeComCancelled):
            report.outcome = CANCELLED
        except WeComAccessError as exc:  # the connection itself: intercepted or unreachable
            self._problem(exc)
            report.outcome, report.error, report.error_zh = FAILED, exc.message_en, exc.message_zh
        except BaseException as exc:
            report.outcome, report.error = FAILED, f"the directory sync stopped: {type(exc).__name__}"
            self._finish(trail, AUDIT_FAILED)
            raise
        finally:
            self.client.close()
        self._finish(trail, AUDIT_FAILED)
        return report

    def _finish(self, trail, audit_failed: str) -> None:
        from app.core.auth.audit import Action

        report = self.report
        with self.db.write() as conn:
            record_run(conn, self.db, self.corp_id, source="api", actor=self.actor, started_at=report.started_at,
                       outcome=report.outcome, counts=report.counts, calls=report.calls, problems=report.problems,
                       error=report.error, run_id=report.run_id)
            trail.record(self.actor, Action.DIRECTORY_SYNC, object_type="corp", object=report.corpid,
                         outcome=audit_failed if report.outcome == FAILED else "ok",
                         detail={"run_id": report.run_id, "outcome": report.outcome, "counts": report.counts,
                                 "problems": [{"api": p.api, "errcode": p.errcode, "count": p.count}
                                              for p in report.problems][:50],
                                 **({"error": report.error} if report.error else {})}, conn=conn)
        report.ended_at = now_ms()

    # ------------------------------------------------------------------ the archive's ids
    def _archive_ids(self) -> ArchiveIds:
        out = ArchiveIds()
        with self.db.read() as conn:
            for r in conn.execute(select(Session.session_type, Session.roomid, Session.participants)
                                  .where(Session.corp_id == self.corp_id)):
                try:
                    people = [p for p in json.loads(r.participants) if isinstance(p, str) and valid_id(p)]
                except ValueError:
                    continue
                externals = [p for p in people if looks_like_external_userid(p)]
                staff = [p for p in people if p not in externals and not _is_robot(p)]
                out.externals.update(externals)
                out.people.update(staff)
                if r.roomid and valid_id(r.roomid):
                    out.rooms.append(r.roomid)
                    if externals:
                        out.rooms_with_externals.add(r.roomid)
                elif r.session_type == "external" and len(staff) == 1 and len(externals) == 1:
                    out.pairs.append((staff[0], externals[0]))
            # rooms whose members WeCom listed as external contacts earlier
            out.rooms_with_externals.update(conn.execute(
                select(DirectoryGroupMember.roomid).distinct().where(DirectoryGroupMember.corp_id == self.corp_id,
                                                                     DirectoryGroupMember.member_type == 2)).scalars())
        out.rooms = sorted(set(out.rooms))
        out.pairs = sorted(set(out.pairs))
        return out

    # ------------------------------------------------------------------ phases
    def _departments(self, ids: ArchiveIds, counts: dict) -> None:
        self._step("departments", 0, None)
        try:
            doc = self._call("department/list", "contacts")
            source = doc.get("department")
        except WeComApiError as exc:
            self._problem(exc)
            try:
                doc = self._call("department/simplelist", "contacts")
                source = doc.get("department_id")
            except WeComApiError as exc2:
                if exc2.api != exc.api or exc2.errcode != exc.errcode:
                    self._problem(exc2)
                with self.db.read() as conn:
                    self._dept_names = department_names(conn, self.corp_id)
                raise _PhaseStopped from None
        departments = []
        for d in source if isinstance(source, list) else []:
            if isinstance(d, dict) and _int(d.get("id")) is not None:
                departments.append({"id": d["id"], "name": _str(d.get("name")), "parentid": _int(d.get("parentid")),
                                    "order": _int(d.get("order")) or 0})
        with self.db.write() as conn:
            counts["departments"] = apply_departments(conn, self.db, self.corp_id, departments, now=now_ms(),
                                                      complete=True)
            self._dept_names = department_names(conn, self.corp_id)
        self._step("departments", len(departments), len(departments))

    def _root_department(self) -> int:
        return min(self._dept_names) if self._dept_names else 1

    def _staff(self, ids: ArchiveIds, counts: dict) -> None:
        self._step("staff", 0, None)
        listed: dict[str, list[int]] = {}
        simple_names: dict[str, str] = {}
        source = "user/get"
        try:
            cursor, pages, seen_cursors = "", 0, set()
            while True:
                self._check_cancel()
                doc = self._call("user/list_id", "contacts", method="POST", body={"cursor": cursor, "limit": 10000})
                for item in doc.get("dept_user") or []:
                    if isinstance(item, dict) and valid_id(item.get("userid")):
                        listed.setdefault(item["userid"], [])
                        if _int(item.get("department")) is not None:
                            listed[item["userid"]].append(item["department"])
                cursor, pages = _str(doc.get("next_cursor")), pages + 1
                if not cursor:
                    break
                if cursor in seen_cursors or pages >= MAX_PAGES:
                    self._note("user/list_id", "WeCom's paging of user/list_id did not end; the staff list is "
                                               "incomplete.", "企业微信 user/list_id 的分页未结束，成员列表不完整。")
                    break
                seen_cursors.add(cursor)
        except WeComApiError as exc:
            self._problem(exc)
            try:
                doc = self._call("user/simplelist", "contacts",
                                 params={"department_id": str(self._root_department()), "fetch_child": "1"})
            except WeComApiError as exc2:
                if (exc2.api, exc2.errcode) != (exc.api, exc.errcode):
                    self._problem(exc2)
                raise _PhaseStopped from None
            for u in doc.get("userlist") or []:
                if isinstance(u, dict) and valid_id(u.get("userid")) and _str(u.get("name")):
                    simple_names[u["userid"]] = u["name"]
                    listed[u["userid"]] = [d for d in u.get("department") or [] if _int(d) is not None]
            source = "user/simplelist"
        extra = sorted(ids.people - set(listed))[: self.max_lookups]
        wanted = sorted(listed) + extra
        facts: list[ContactFacts] = []
        not_found = 0
        for n, userid in enumerate(wanted, 1):
            self._check_cancel()
            if n % 25 == 0 or n == len(wanted):
                self._step("staff", n, len(wanted))
            try:
                u = self._call("user/get", "contacts", params={"userid": userid})
            except WeComApiError as exc:
                if self._wide(exc):
                    self._problem(exc)
                    break
                self._problem(exc, userid)
                not_found += exc.errcode in (60111, 40003)
                u = None
            if u is None:
                if userid in simple_names:
                    facts.append(ContactFacts(userid, simple_names[userid], "staff",
                                              self._dept_names.get((listed.get(userid) or [0])[0], "")))
                continue
            main = _int(u.get("main_department")) or (listed.get(userid) or [0])[0]
            facts.append(ContactFacts(
                userid, _str(u.get("name")) or simple_names.get(userid, ""), "staff", self._dept_names.get(main, ""),
                position=_str(u.get("position")), status=_int(u.get("status")),
                avatar_url=_str(u.get("avatar")) or None))
        with self.db.write() as conn:
            changes = apply_contacts(conn, self.db, self.corp_id, facts, now=now_ms(), source=source)
        counts["staff"] = len(facts)
        counts["staff_not_found"] = not_found
        self._count_names(counts, changes)

    def _count_names(self, counts: dict, changes) -> None:
        counts["names_new"] = counts.get("names_new", 0) + changes.new
        counts["names_changed"] = counts.get("names_changed", 0) + changes.renamed
        counts["organisations_changed"] = counts.get("organisations_changed", 0) + changes.moved

    @staticmethod
    def _external_facts(ec: dict) -> ContactFacts | None:
        userid = ec.get("external_userid")
        if not valid_id(userid) or not _str(ec.get("name")):
            return None
        kind = _int(ec.get("type"))
        short, full = _str(ec.get("corp_name")), _str(ec.get("corp_full_name"))
        # The organisation is the legal name (what a names file gives too); the tag uses the short one.
        corp = WECHAT if kind == 1 else full or short
        return ContactFacts(userid, ec["name"], "external", corp, corp_name=short, corp_full_name=full, ext_type=kind,
                            position=_str(ec.get("position")), avatar_url=_str(ec.get("avatar")) or None)

    def _externals(self, ids: ArchiveIds, counts: dict) -> None:
        self._step("externals", 0, None)
        found: dict[str, ContactFacts] = {}
        try:
            follow = [u for u in self._call("externalcontact/get_follow_user_list", "externalcontact")
                      .get("follow_user") or [] if valid_id(u)]
        except WeComApiError as exc:
            self._problem(exc)
            if self._wide(exc) and exc.api == "gettoken":
                raise _PhaseStopped from None
            follow = []
        chunks = list(_chunks(sorted(set(follow)), 100))
        for n, chunk in enumerate(chunks, 1):
            self._step("externals", n, len(chunks))
            cursor, pages, seen = "", 0, set()
            try:
                while True:
                    self._check_cancel()
                    doc = self._call("externalcontact/batch/get_by_user", "externalcontact", method="POST",
                                     body={"userid_list": chunk, "cursor": cursor, "limit": 100})
                    for item in doc.get("external_contact_list") or []:
                        ec = item.get("external_contact") if isinstance(item, dict) else None
                        facts = self._external_facts(ec) if isinstance(ec, dict) else None
                        if facts is not None:
                            found[facts.userid] = facts
                            follow = item.get("follow_info")
                            if isinstance(follow, dict) and valid_id(follow.get("userid")):
                                ids.followers.add((follow["userid"], facts.userid))
                    cursor, pages = _str(doc.get("next_cursor")), pages + 1
                    if not cursor:
                        break
                    if cursor in seen or pages >= MAX_PAGES:
                        self._note("externalcontact/batch/get_by_user", "WeCom's paging of "
                                   "externalcontact/batch/get_by_user did not end; some contacts are missing.",
                                   "企业微信 externalcontact/batch/get_by_user 的分页未结束，部分联系人缺失。")
                        break
                    seen.add(cursor)
            except WeComApiError as exc:
                self._problem(exc, chunk[0] if len(chunk) == 1 else None)
                if self._wide(exc):
                    break
        missing = sorted(ids.externals - set(found))[: self.max_lookups]
        for n, userid in enumerate(missing, 1):
            self._check_cancel()
            if n % 25 == 0 or n == len(missing):
                self._step("externals", n, len(missing), "externalcontact/get")
            try:
                doc = self._call("externalcontact/get", "externalcontact", params={"external_userid": userid})
            except WeComApiError as exc:
                if self._wide(exc):
                    self._problem(exc)
                    break
                self._problem(exc, userid)
                continue
            ec = doc.get("external_contact")
            facts = self._external_facts(ec) if isinstance(ec, dict) else None
            if facts is not None:
                found[facts.userid] = facts
                ids.followers.update((f["userid"], facts.userid) for f in doc.get("follow_user") or []
                                     if isinstance(f, dict) and valid_id(f.get("userid")))
        with self.db.write() as conn:
            changes = apply_contacts(conn, self.db, self.corp_id, found.values(), now=now_ms(),
                                     source="externalcontact")
        counts["externals"] = len(found)
        self._count_names(counts, changes)

    def _group_facts(self, roomid: str) -> tuple[GroupFacts, list[ContactFacts]]:
        """The room as WeCom describes it: an internal group through msgaudit, else a customer group."""
        try:
            doc = self._call("msgaudit/groupchat/get", "msgaudit", method="POST", body={"roomid": roomid})
        except WeComApiError as exc:
            if self._wide(exc):
                raise
            first = exc
        else:
            members = [{"userid": m.get("memberid"), "join_time": _ms(m.get("jointime")),
                        "member_type": 2 if looks_like_external_userid(_str(m.get("memberid"))) else 1}
                       for m in doc.get("members") or [] if isinstance(m, dict)]
            return GroupFacts(roomid, _str(doc.get("roomname")), _str(doc.get("creator")), "internal",
                              _ms(doc.get("room_create_time")), _str(doc.get("notice")), members), []
        try:
            doc = self._call("externalcontact/groupchat/get", "externalcontact", method="POST",
                             body={"chat_id": roomid, "need_name": 1})
        except WeComApiError as exc:
            raise exc if self._wide(exc) else first from None
        gc = doc.get("group_chat") if isinstance(doc.get("group_chat"), dict) else {}
        members, names = [], []
        for m in gc.get("member_list") or []:
            if not isinstance(m, dict) or not valid_id(m.get("userid")):
                continue
            invitor = m.get("invitor") if isinstance(m.get("invitor"), dict) else {}
            kind = _int(m.get("type"))
            members.append({"userid": m["userid"], "member_type": kind, "join_time": _ms(m.get("join_time")),
                            "join_scene": _int(m.get("join_scene")), "invitor": _str(invitor.get("userid"))})
            if kind == 2 and _str(m.get("name")):
                names.append(ContactFacts(m["userid"], m["name"], "external"))
        return GroupFacts(roomid, _str(gc.get("name")), _str(gc.get("owner")), "customer", _ms(gc.get("create_time")),
                          _str(gc.get("notice")), members), names

    def _groups(self, ids: ArchiveIds, counts: dict) -> None:
        rooms = ids.rooms
        self._step("groups", 0, len(rooms))
        groups: list[GroupFacts] = []
        member_names: dict[str, ContactFacts] = {}
        refused: list[tuple[str, int | None]] = []
        for n, roomid in enumerate(rooms, 1):
            self._check_cancel()
            self._step("groups", n, len(rooms))
            try:
                g, names = self._group_facts(roomid)
            except WeComApiError as exc:
                self._problem(exc, None if self._wide(exc) else roomid)
                if self._wide(exc) and exc.api.startswith("msgaudit"):
                    break
                refused.append((roomid, exc.errcode))
                continue
            groups.append(g)
            for f in names:
                member_names.setdefault(f.userid, f)
        now = now_ms()
        members = left = 0
        with self.db.write() as conn:
            known = set(conn.execute(select(Contact.userid).where(Contact.corp_id == self.corp_id,
                                                                  Contact.kind == "external")).scalars())
            for g in groups:
                listed, gone = apply_group(conn, self.db, self.corp_id, g, now=now)
                members, left = members + listed, left + gone
                if g.kind == "customer" or any(m.get("member_type") == 2 for m in g.members):
                    ids.rooms_with_externals.add(g.roomid)
            for roomid, errcode in refused:
                note_group_refused(conn, self.db, self.corp_id, roomid, errcode, now=now)
            facts = [ContactFacts(g.roomid, g.name, "room") for g in groups if g.name]
            facts += [f for uid, f in member_names.items() if uid not in known]
            changes = apply_contacts(conn, self.db, self.corp_id, facts, now=now, source="groupchat")
        counts["groups"], counts["group_members"], counts["members_left"] = len(groups), members, left
        self._count_names(counts, changes)

    def _permits(self, ids: ArchiveIds, counts: dict) -> None:
        self._step("permits", 0, None)
        try:
            doc = self._call("msgaudit/get_permit_user_list", "msgaudit", method="POST", body={})
        except WeComApiError as exc:
            self._problem(exc)
            raise _PhaseStopped from None
        listed = [u for u in doc.get("ids") or [] if valid_id(u)]
        with self.db.write() as conn:
            on, added, removed = apply_permits(conn, self.db, self.corp_id, listed, now=now_ms())
        counts.update(permits=on, permits_added=added, permits_removed=removed)
        self._step("permits", on, on)

    def _consent(self, ids: ArchiveIds, counts: dict) -> None:
        facts: list[ConsentFacts] = []
        # the chats of the archive, and every customer relationship WeCom listed (a customer who refused
        # at once has no one-to-one chat in the archive)
        pairs = sorted(set(ids.pairs) | set(sorted(ids.followers)[:MAX_CONSENT_PAIRS]))
        chunks = list(_chunks(pairs, 100))
        rooms = sorted(ids.rooms_with_externals)
        total = len(chunks) + len(rooms)
        done = 0
        for chunk in chunks:
            self._check_cancel()
            done += 1
            self._step("consent", done, total)
            try:
                doc = self._call("msgaudit/check_single_agree", "msgaudit", method="POST",
                                 body={"info": [{"userid": u, "exteranalopenid": e} for u, e in chunk]})
            except WeComApiError as exc:
                self._problem(exc)
                if self._wide(exc):
                    raise _PhaseStopped from None
                continue
            for a in doc.get("agreeinfo") or []:
                if isinstance(a, dict) and valid_id(a.get("exteranalopenid")) and valid_id(a.get("userid")):
                    facts.append(ConsentFacts("", a["userid"], a["exteranalopenid"],
                                              consent_status(a.get("agree_status")), _ms(a.get("status_change_time"))))
        for roomid in rooms:
            self._check_cancel()
            done += 1
            self._step("consent", done, total)
            try:
                doc = self._call("msgaudit/check_room_agree", "msgaudit", method="POST", body={"roomid": roomid})
            except WeComApiError as exc:
                self._problem(exc, None if self._wide(exc) else roomid)
                if self._wide(exc):
                    break
                continue
            for a in doc.get("agreeinfo") or []:
                if isinstance(a, dict) and valid_id(a.get("exteranalopenid")):
                    facts.append(ConsentFacts(roomid, "", a["exteranalopenid"], consent_status(a.get("agree_status")),
                                              _ms(a.get("status_change_time"))))
        with self.db.write() as conn:
            seen, changed = apply_consent(conn, self.db, self.corp_id, facts, now=now_ms())
        counts["consent"], counts["consent_changes"] = seen, changed

    def _avatars(self, ids: ArchiveIds, counts: dict) -> None:
        with self.db.read() as conn:
            rows = conn.execute(select(Contact.userid, Contact.avatar_url).where(
                Contact.corp_id == self.corp_id, Contact.avatar_url.is_not(None),
                Contact.avatar_sha256.is_(None))).all()
        by_url: dict[str, list[str]] = {}
        for userid, url in rows:
            fetch = avatar_fetch_url(url)
            if fetch is None:
                self._note("avatar", "An avatar URL is not on WeCom's image servers; it was not fetched.",
                           "头像地址不在企业微信的图片服务器上，未下载。", userid)
                continue
            by_url.setdefault(fetch, []).append(userid)
        urls = sorted(by_url)[: self.max_avatars]
        stored = 0
        pending: list[tuple[list[str], tuple]] = []
        for n, url in enumerate(urls, 1):
            self._check_cancel()
            if n % 10 == 0 or n == len(urls):
                self._step("avatars", n, len(urls))
            try:
                data = self.client.download(url, max_bytes=MAX_AVATAR_BYTES)
            except WeComAccessError as exc:
                self._problem(exc, by_url[url][0])
                if exc.kind in (INTERCEPTED, UNREACHABLE):
                    break
                continue
            picture = normalise_avatar(data)
            if picture is None:
                self._note("avatar", "An avatar from WeCom's image server is not a picture the app accepts; "
                                     "initials are shown instead.", "企业微信图片服务器返回的头像不是可接受的图片，以姓名首字代替。",
                           by_url[url][0])
                continue
            pending.append((by_url[url], picture))
            if len(pending) >= 50 or n == len(urls):
                stored += self._store_avatars(pending)
                pending = []
        if pending:
            stored += self._store_avatars(pending)
        counts["avatars"] = stored

    def _store_avatars(self, pending: Iterable[tuple[list[str], tuple]]) -> int:
        now, n = now_ms(), 0
        with self.db.write() as conn:
            for userids, (png, digest, width, height) in pending:
                store_avatar(conn, self.corp_id, userids, digest, png, width, height, now=now)
                n += 1
        return n


__all__ = ["PHASES", "DirectoryBusy", "DirectoryCancelled", "DirectoryProgress", "DirectoryReport", "DirectorySync",
           "consent_status"]
