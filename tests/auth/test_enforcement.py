"""Enforcement in the core services: each role can do exactly what it may through ArchiveService,
SearchService, MediaService, the sync, settings and the trail; a scoped reviewer never sees a
session outside its scope (lists, counts, messages, media, search pages and counts); every action a
person takes leaves exactly one audit entry, and page reads none. SQLite and MariaDB (``db_url``)."""

from __future__ import annotations

import hashlib
import io

import pytest
from auth_chats_kit import CHATS, LATER, LN, SCOPED_PW, ZW, write_chats
from auth_kit import ADMIN_PW, FAST, PASSWORDS
from sqlalchemy import func, select, update

from app.core.actor import Actor
from app.core.auth import (
    DENIED,
    FAILED,
    OK,
    AccountService,
    AuditFilter,
    PermissionDenied,
    ScopeSpec,
)
from app.core.context import AppContext
from app.core.media.local import LocalStorage
from app.core.media.storage import media_key
from app.core.search import SearchQuery
from app.core.search.index import SearchIndex
from app.core.store.models import STORED, AuditEntry, Media, Message
from app.core.sync.pipeline import Syncer, ensure_corp


class World:
    """An archive of the CHATS, media of i1 and i2 stored, and logged-in actors of every role."""

    def __init__(self, ctx: AppContext, corp: int, actors: dict[str, Actor], media: dict[str, int]):
        self.ctx, self.corp, self.actors, self.media = ctx, corp, actors, media

    def session_of(self, msgid: str) -> str:
        with self.ctx.db.read() as conn:
            return conn.execute(select(Message.session_id).where(Message.msgid == msgid)).scalar_one()

    def message_id(self, msgid: str) -> int:
        with self.ctx.db.read() as conn:
            return conn.execute(select(Message.id).where(Message.msgid == msgid)).scalar_one()

    def entries(self, action: str | None = None) -> list:
        q = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            q = q.where(AuditEntry.action == action)
        with self.ctx.db.read() as conn:
            return conn.execute(q).all()

    def count(self) -> int:
        with self.ctx.db.read() as conn:
            return conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


@pytest.fixture
def world(db_url, tmp_path):
    ctx = AppContext(tmp_path / "data", db_url)
    ctx.accounts = AccountService(ctx.db, ctx.trail, hasher=FAST)
    corp = ensure_corp(ctx.db, "wwenforce")
    write_chats(ctx.db, corp, list(CHATS))
    storage = LocalStorage(tmp_path / "media")
    media = {}
    with ctx.db.write() as conn:
        for msgid in ("i1", "i2"):
            data = f"image of {msgid}".encode()
            digest = hashlib.sha256(data).hexdigest()
            key = media_key("wwenforce", digest, "jpg")
            storage.put(key, io.BytesIO(data), size=len(data))
            conn.execute(update(Media).where(Media.msgid == msgid).values(
                status=STORED, storage_backend="local", storage_key=key, sha256=digest, stored_size=len(data),
                ext="jpg", filename=f"{msgid}.jpg"))
            media[msgid] = conn.execute(select(Media.id).where(Media.msgid == msgid)).scalar_one()
    from app.core.media.service import MediaService
    from app.core.search import SearchService

    ctx.media = MediaService(ctx.db, storage, trail=ctx.trail)
    ctx.search = SearchService(ctx.db, index_dir=tmp_path / "index", trail=ctx.trail)
    accounts = ctx.accounts
    accounts.create_first_admin("admin", ADMIN_PW)
    admin = accounts.authenticate("admin", ADMIN_PW, "ws")
    actors = {"administrator": admin}
    for role, password in PASSWORDS.items():
        accounts.create_account(admin, role, password, roles=[role], must_change_password=False)
        actors[role] = accounts.authenticate(role, password, "ws")
    accounts.create_account(admin, "scoped", SCOPED_PW, roles=["reviewer"], scope=ScopeSpec(frozenset({ZW})),
                            must_change_password=False)
    actors["scoped"] = accounts.authenticate("scoped", SCOPED_PW, "ws")
    yield World(ctx, corp, actors, media)
    ctx.close()


# ------------------------------------------------------------------ who may do what

def _operations(w: World):
    """name -> (callable taking an actor, the roles allowed)."""
    c, sid = w.ctx, w.session_of("m1")
    mid = w.message_id("m1")
    return {
        "corps": (lambda a: c.archive.corps(a), {"administrator", "reviewer", "exporter", "auditor"}),
        "sync history": (lambda a: c.archive.sync_runs(a), {"administrator", "reviewer", "exporter", "auditor"}),
        "quarantine": (lambda a: c.archive.quarantine(a), {"administrator", "reviewer", "exporter", "auditor"}),
        "media status": (lambda a: c.archive.media_status_counts(a), {"administrator", "reviewer", "exporter",
                                                                      "auditor"}),
        "sessions": (lambda a: c.archive.sessions(a), {"reviewer"}),
        "session counts": (lambda a: c.archive.session_counts(a), {"reviewer"}),
        "open session": (lambda a: c.archive.open_session(a, w.corp, sid), {"reviewer"}),
        "messages": (lambda a: c.archive.messages(a, session_id=sid), {"reviewer"}),
        "raw json": (lambda a: c.archive.raw_json_of(a, [mid]), {"reviewer"}),
        "view message": (lambda a: c.archive.view_message(a, message_id=mid), {"reviewer"}),
        "media rows": (lambda a: c.archive.media_of(a, mid), {"reviewer"}),
        "search": (lambda a: c.search.query(a, "合同"), {"reviewer"}),
        "search count": (lambda a: c.search.count(a, SearchQuery(keyword="合同")), {"reviewer"}),
        "media open": (lambda a: c.media.read(a, w.media["i1"]), {"reviewer"}),
        "reindex": (lambda a: c.search.reindex(a), {"administrator"}),
        "settings": (lambda a: c.change_settings(a, media_workers=c.settings.media_workers + 1), {"administrator"}),
        "accounts": (lambda a: c.accounts.list_accounts(a), {"administrator"}),
        "audit trail": (lambda a: c.trail.entries(a), {"auditor"}),
        "audit verify": (lambda a: c.trail.verify(a), {"auditor"}),
    }


@pytest.mark.parametrize("role", ["administrator", "reviewer", "exporter", "auditor"])
def test_each_role_may_do_exactly_what_it_may(world, role):
    actor = world.actors[role]
    name_of = actor.username
    for name, (call, allowed) in _operations(world).items():
        before = len(world.entries())
        if role in allowed:
            call(actor)  # no refusal
            continue
        with pytest.raises(PermissionDenied) as refused:
            call(actor)
        assert f"account '{name_of}' may not" in str(refused.value), name
        denied = world.entries()[before:]
        assert [(e.account, e.outcome) for e in denied] == [(name_of, DENIED)], name


def test_an_actor_without_roles_and_one_that_must_change_its_password_may_do_nothing(world):
    nobody = Actor("x", workstation="ws")
    with pytest.raises(PermissionDenied, match="has no role"):
        world.ctx.archive.corps(nobody)
    admin = world.actors["administrator"]
    world.ctx.accounts.reset_password(admin, "reviewer", "reset-pass-0009")  # must change at next login
    fresh = world.ctx.accounts.authenticate("reviewer", "reset-pass-0009", "ws")
    with pytest.raises(PermissionDenied, match="must change its password"):
        world.ctx.archive.sessions(fresh)


def test_a_sync_needs_sync_run_and_the_refusal_is_recorded_before_anything_runs(world, tmp_path):
    from app.core.sdk.connection import CorpConnection
    from app.core.sdk.hosted import LibrarySpec

    def syncer(actor):
        connection = CorpConnection(LibrarySpec(str(tmp_path / "missing.so")), "wwenforce", "s")
        return Syncer(world.ctx.db, connection=connection, private_keys={1: "k"}, storage=None, spool_dir=tmp_path,
                      actor=actor)

    for role in ("reviewer", "exporter", "auditor"):
        with pytest.raises(PermissionDenied, match="may not run a sync"):
            syncer(world.actors[role]).run()
    assert [(e.account, e.outcome) for e in world.entries("sync.run")] == [
        ("reviewer", DENIED), ("exporter", DENIED), ("auditor", DENIED)]
    from app.core.sdk import SdkLoadError

    with pytest.raises(SdkLoadError):  # past the check: the (missing) library is loaded next
        syncer(world.actors["administrator"]).run()


def test_a_sync_run_leaves_one_entry_with_its_outcome(tiny_corpus, simulator_path, tmp_path):
    ctx = AppContext(tmp_path / "sync-data")
    ctx.accounts = AccountService(ctx.db, ctx.trail, hasher=FAST)
    corp, _ = ctx.setup_demo(tiny_corpus.path)  # a fresh archive: the demo account does it
    assert ctx.demo_login is not None and ctx.settings.no_login
    actor = ctx.accounts.authenticate("demo", ctx.demo_login.password, "ws")
    report = ctx.make_syncer(corp, media=False, workers=1, actor=actor).run()
    runs = [e for e in ctx.trail.entries(actor, AuditFilter(actions=frozenset({"sync.run"})))]
    assert len(runs) == 1 and runs[0].account == "demo" and runs[0].outcome == OK
    assert runs[0].detail["result"] == "succeeded" and runs[0].detail["stored"] == report.stored
    # a background sync acts as the system
    ctx.make_syncer(corp, media=False, workers=1).run()
    runs = ctx.trail.entries(actor, AuditFilter(actions=frozenset({"sync.run"})))
    assert [r.account for r in runs] == ["system:scheduled-sync", "demo"]
    ctx.close()


# ------------------------------------------------------------------ scope

def test_a_scoped_reviewer_never_sees_a_session_outside_its_scope(world):
    a, c = world.actors["scoped"], world.ctx
    inside = {world.session_of("m1"), world.session_of("m4")}
    outside = {world.session_of("m2"), world.session_of("m3")}
    assert {s.session_id for s in c.archive.sessions(a)} == inside
    assert c.archive.session_counts(a) == {"internal": 1, "group": 1}
    assert sum(c.archive.session_counts(world.actors["reviewer"]).values()) == 4
    assert c.archive.room_ids(a) == {"room-1"}
    for sid in outside:
        assert c.archive.session(a, world.corp, sid) is None
        assert c.archive.messages(a, session_id=sid) == []
        assert c.archive.messages(a, corp_id=world.corp, session_id=sid) == []
    assert {m.msgid for m in c.archive.messages(a)} == {"m1", "i1", "m4"}
    assert {m.msgid for m in c.archive.messages(a, session_id=world.session_of("m1"))} == {"m1", "i1"}
    ids = {m: world.message_id(m) for m in CHATS}
    assert set(c.archive.raw_json_of(a, list(ids.values()))) == {ids["m1"], ids["i1"], ids["m4"]}
    assert c.archive.message(a, msgid="m2") is None and c.archive.message(a, msgid="m1") is not None
    assert set(c.archive.media_of_messages(a, [ids["i1"], ids["i2"]])) == {ids["i1"]}
    # Opening what is outside: refused and recorded.
    before = len(world.entries())
    with pytest.raises(PermissionDenied, match="outside the scope of account 'scoped'"):
        c.archive.open_session(a, world.corp, world.session_of("m2"))
    with pytest.raises(PermissionDenied, match="outside the scope"):
        c.archive.view_message(a, msgid="m3")
    with pytest.raises(PermissionDenied, match="outside the scope"):
        c.media.read(a, world.media["i2"])
    assert c.media.read(a, world.media["i1"]) == b"image of i1"
    refused = world.entries()[before:]
    assert [(e.action, e.outcome) for e in refused] == [
        ("session.open", DENIED), ("message.view", DENIED), ("media.open", DENIED)]


def _all_pages(search, actor, text, order="newest"):
    hits, before = [], None
    while True:
        page = search.query(actor, text, limit=1, before=before, order=order)
        if not page:
            return [h.message.msgid for h in hits]
        hits += page
        before = page[-1].cursor(order)


@pytest.mark.parametrize("engine", ["index", "journal tail", "scan"])
def test_search_pages_and_counts_are_exact_within_the_scope(world, monkeypatch, engine):
    a, s = world.actors["scoped"], world.ctx.search
    if engine == "index":
        s.query(world.actors["reviewer"], "合同")  # builds the index
    else:
        if engine == "journal tail":  # indexed, then two more messages the index does not have yet
            s.query(world.actors["reviewer"], "合同")
            write_chats(world.ctx.db, world.corp, list(LATER), start=len(CHATS))

        from app.core.search import IndexBusy

        def busy(self, *args, **kwargs):
            raise IndexBusy("held by another process")

        monkeypatch.setattr(SearchIndex, "catch_up", busy)
    expected = {"m1", "m4"} | ({"m5"} if engine == "journal tail" else set())
    everyone = {"m1", "m2", "m3", "m4"} | ({"m5", "m6"} if engine == "journal tail" else set())
    for order in ("newest", "oldest", "session"):
        assert set(_all_pages(s, a, "合同", order)) == expected, order
        assert len(_all_pages(s, a, "合同", order)) == len(expected)
    assert s.query_count(a, "合同") == len(expected)
    assert s.count(a, SearchQuery(keyword="合同")) == len(expected)
    assert {h.message.msgid for h in s.search(a, SearchQuery(keyword="合同"), limit=50)} == expected
    assert set(_all_pages(s, world.actors["reviewer"], "合同")) == everyone
    assert s.query_count(a, f"in:{world.session_of('m2')}") == 0
    nobody = Actor("empty", roles={"reviewer"}, scope=frozenset(), account_id=1)
    assert s.query(nobody, "合同") == [] and s.query_count(nobody, "合同") == 0


# ------------------------------------------------------------------ one entry per action

def test_every_action_a_person_takes_leaves_exactly_one_entry(world, tmp_path):
    a, c = world.actors["reviewer"], world.ctx
    sid, mid = world.session_of("m1"), world.message_id("m1")

    def one(action, call, obj=None):
        before = len(world.entries())
        result = call()
        new = world.entries()[before:]
        assert [(e.action, e.account, e.outcome) for e in new] == [(action, "reviewer", OK)], action
        if obj is not None:
            assert new[0].object == obj
        return result

    def none(call):
        before = len(world.entries())
        call()
        assert world.entries()[before:] == []

    # reads of pages and counts are not recorded
    none(lambda: c.archive.sessions(a))
    none(lambda: c.archive.messages(a, session_id=sid))
    none(lambda: c.archive.raw_json_of(a, [mid]))
    none(lambda: c.archive.message(a, message_id=mid))
    none(lambda: c.media.read(a, world.media["i1"]))
    none(lambda: c.search.query(a, "合同"))
    none(lambda: c.search.query_count(a, "合同"))
    # what a person opens is
    assert one("session.open", lambda: c.archive.open_session(a, world.corp, sid), sid).session_id == sid
    detail = one("message.view", lambda: c.archive.view_message(a, message_id=mid), "m1")
    one("message.raw", lambda: c.archive.view_message(a, message_id=mid, raw=True), "m1")
    one("message.raw", lambda: c.archive.record_raw_view(a, detail), "m1")
    assert one("media.open", lambda: c.media.view(a, world.media["i1"])) == b"image of i1"
    copy = one("media.open", lambda: c.media.open_copy(a, world.media["i1"], tmp_path / "open"))
    assert copy.read_bytes() == b"image of i1"
    target = tmp_path / "saved.jpg"
    one("media.save", lambda: c.media.save_to(a, world.media["i1"], target))
    assert target.read_bytes() == b"image of i1" and str(target) in world.entries("media.save")[-1].detail
    hits = one("search", lambda: c.search.query(a, "合同 第一份", record=True), "合同 第一份")
    none(lambda: c.search.query(a, "合同 第一份", before=hits[-1].cursor()))  # the next page
    one("search", lambda: c.search.search(a, SearchQuery(keyword="第二", sender=LN), record=True),
        '"第二" from:lina')
    from app.core.search import QueryError

    before = len(world.entries())
    with pytest.raises(QueryError):
        c.search.query(a, '合同 "退款', record=True)
    assert [(e.action, e.outcome) for e in world.entries()[before:]] == [("search", FAILED)]
    assert c.archive.open_session(a, world.corp, "no-such-session") is None


def test_settings_changes_are_recorded_per_setting_and_secrets_never(world):
    c, admin = world.ctx, world.actors["administrator"]
    c.settings.media_workers = 7
    c.settings.database_url = "mysql+pymysql://auditor:hunter2-secret@db.example:3306/archive"
    before = len(world.entries())
    names = c.change_settings(admin, c.settings, secrets_changed=["corps[ww1].corp_secret"])
    assert names == ["database_url", "media_workers", "corps[ww1].corp_secret"]
    new = world.entries()[before:]
    assert [e.action for e in new] == ["settings.change"] * 3
    objects = [e.object for e in new]
    assert objects[0] == "database_url:  -> mysql+pymysql://auditor:***@db.example:3306/archive"
    assert objects[1] == "media_workers: 4 -> 7"
    assert objects[2] == "corps[ww1].corp_secret: [redacted] -> [redacted]"
    assert all("hunter2" not in e.object and "hunter2" not in e.detail for e in new)
    assert c.change_settings(admin, c.settings) == []  # nothing changed: nothing recorded
    assert len(world.entries()) == before + 3
    c.change_settings(admin, no_login=True)
    assert world.entries()[-1].object == "no_login: false -> true" and c.settings.no_login
    with pytest.raises(PermissionDenied):
        c.change_settings(world.actors["reviewer"], no_login=False)
    assert c.settings.no_login and world.entries()[-1].outcome == DENIED
