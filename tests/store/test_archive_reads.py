"""ArchiveService reads the session tree needs: paging, the participant filter, one session by id."""

from __future__ import annotations

import json

import pytest

from app.core.actor import Actor
from app.core.archive import ArchiveService
from app.core.store.db import open_database
from app.core.store.models import Session
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import insert_many

ACTOR = Actor.local()


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.close()


def _add_sessions(db, corp_id, sessions):
    """sessions: (session_id, session_type, participants, last_msgtime[, roomid])."""
    rows = []
    for s in sessions:
        sid, stype, people, last = s[:4]
        rows.append({"id": db.ids.next_id(), "corp_id": corp_id, "session_id": sid, "session_type": stype,
                     "roomid": s[4] if len(s) > 4 else "",
                     "participants": json.dumps(sorted(people), ensure_ascii=False),
                     "first_msgtime": last - 1000, "last_msgtime": last, "message_count": 3})
    with db.write() as conn:
        insert_many(conn, Session.__table__, rows)


@pytest.fixture
def archive(db):
    corp = ensure_corp(db, "wwreads")
    _add_sessions(db, corp, [
        ("s1", "internal", ["zhangwei", "LiNa"], 1_000),
        ("s2", "internal", ["ZhangWei2", "wangfang"], 2_000),
        ("s3", "external", ["zhangwei", "wmExternal_01"], 3_000),
        ("s4", "group", ["a%b", "under_score", "back\\slash"], 4_000, "wrRoom1"),
        ("s5", "group", ["quote\"d", "李娜"], 5_000, "wrRoom2"),
    ])
    return ArchiveService(db), corp


def _ids(rows):
    return [r.session_id for r in rows]


def test_sessions_page_newest_first(archive):
    service, corp = archive
    assert _ids(service.sessions(ACTOR, corp)) == ["s5", "s4", "s3", "s2", "s1"]
    assert _ids(service.sessions(ACTOR, corp, limit=2, offset=2)) == ["s3", "s2"]
    assert _ids(service.sessions(ACTOR, corp, "internal")) == ["s2", "s1"]


def test_participant_ids_match_whole_ids_case_sensitively(archive):
    service, corp = archive
    # "zhangwei" is not a prefix match of "ZhangWei2", nor the same id in another case
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"zhangwei"})) == ["s3", "s1"]
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"zhang"})) == []
    assert service.session_counts(ACTOR, corp, participant_ids={"zhangwei"}) == {"internal": 1, "external": 1}
    # a group matches by its roomid too (room names are in the directory by roomid)
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"wrRoom1"})) == ["s4"]
    # no id at all matches nothing (a filter that found no names must not show everything)
    assert service.sessions(ACTOR, corp, participant_ids=set()) == []


def test_participant_text_is_a_case_insensitive_substring_without_wildcards(archive):
    service, corp = archive
    assert _ids(service.sessions(ACTOR, corp, participant_text="zhangwei")) == ["s3", "s2", "s1"]
    assert _ids(service.sessions(ACTOR, corp, participant_text="%")) == ["s4"]  # literal, not a wildcard
    assert _ids(service.sessions(ACTOR, corp, participant_text="_")) == ["s4", "s3"]
    assert _ids(service.sessions(ACTOR, corp, participant_text="k\\s")) == ["s4"]
    assert _ids(service.sessions(ACTOR, corp, participant_text='e"d')) == ["s5"]
    assert _ids(service.sessions(ACTOR, corp, participant_text="李")) == ["s5"]
    # JSON punctuation between two ids never matches
    assert service.sessions(ACTOR, corp, participant_text='", "') == []
    assert _ids(service.sessions(ACTOR, corp, participant_text="room2")) == ["s5"]


def test_ids_and_text_combine_with_or(archive):
    service, corp = archive
    rows = service.sessions(ACTOR, corp, participant_ids={"wangfang"}, participant_text="wmext")
    assert _ids(rows) == ["s3", "s2"]
    assert sum(service.session_counts(ACTOR, corp, participant_ids={"wangfang"},
                                      participant_text="wmext").values()) == 2


def test_thousands_of_ids_do_not_hit_the_expression_depth_limit(archive):
    service, corp = archive
    ids = {f"nobody{i}" for i in range(3000)} | {"LiNa"}
    assert _ids(service.sessions(ACTOR, corp, participant_ids=ids)) == ["s1"]


def test_one_session_by_id(archive):
    service, corp = archive
    row = service.session(ACTOR, corp, "s4")
    assert row.session_type == "group" and row.roomid == "wrRoom1" and "a%b" in row.participants
    assert service.session(ACTOR, corp, "missing") is None
    assert service.session(ACTOR, corp + 1, "s4") is None


def test_id_matching_is_case_sensitive(archive):
    service, corp = archive
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"lina"})) == []
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"LiNa", "李娜"})) == ["s5", "s1"]


def test_servers_without_json_overlaps_filter_the_same(archive, db, monkeypatch):
    if db.is_sqlite:
        pytest.skip("SQLite always has json_each")
    service, corp = archive
    monkeypatch.setattr(db.engine.dialect, "server_version_info", (5, 7, 0))
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"zhangwei"})) == ["s3", "s1"]
    assert _ids(service.sessions(ACTOR, corp, participant_ids={"lina", 'quote"d'})) == ["s5"]
    ids = {f"nobody{i}" for i in range(3000)} | {"LiNa"}
    assert _ids(service.sessions(ACTOR, corp, participant_ids=ids)) == ["s1"]


def test_room_ids(archive):
    service, corp = archive
    assert service.room_ids(ACTOR, corp) == {"wrRoom1", "wrRoom2"}
    assert service.room_ids(ACTOR, corp + 1) == set()


# ------------------------------------------------------------------ a conversation without its corp

def test_a_conversation_read_without_its_corp_seeks_the_index_and_misses_nothing(tmp_path, db_url):
    """The export and the CLI read a conversation by its id alone: the read names every corp (every
    index on messages leads with corp_id), so it seeks instead of scanning the whole index — which
    had made each conversation cost time in proportion to the archive."""
    from sqlalchemy import func, select

    from app.core.archive import session_messages
    from app.core.store.models import Message
    from tests.archive_kit import make_archive

    ctx, actor = make_archive(tmp_path / "data", db_url, messages=200)
    try:
        corp = ctx.archive.corps(actor)[0].id
        sessions = ctx.archive.sessions(actor, corp, limit=1000)
        assert len(sessions) > 3
        for s in sessions:
            alone = ctx.archive.messages(actor, session_id=s.session_id, limit=10_000)
            assert alone == ctx.archive.messages(actor, corp_id=corp, session_id=s.session_id, limit=10_000)
            assert len(alone) == s.message_count > 0
        db, sid = ctx.db, sessions[0].session_id
        with db.read() as conn:
            for corp_id in (None, corp):
                q = select(func.count()).select_from(Message).where(session_messages(sid, corp_id),
                                                                     Message.msgtime >= 0)
                assert conn.execute(q).scalar_one() == sessions[0].message_count
                sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
                if db.is_sqlite:
                    plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
                    assert "ix_messages_session_time (corp_id=? AND session_id=?" in plan, plan
                else:
                    rows = conn.exec_driver_sql("EXPLAIN " + sql).mappings().all()
                    used = [r for r in rows if r["table"] == "messages"]
                    assert used and used[0]["key"] == "ix_messages_session_time", rows
                    assert used[0]["type"] in ("ref", "range"), rows
    finally:
        ctx.close()


def test_messages_of_every_corp_come_merged_in_time_order_from_one_indexed_read_per_corp(tmp_path, db_url):
    """Without a corp and a conversation (the search panel's first and last day, the CLI), messages
    are read corp by corp in index order and merged: one read over every corp sorted the whole
    archive for a page (1.9 s over 1,000,000 messages)."""
    import json as _json

    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.writer import write_batch
    from tests.archive_kit import make_archive

    ctx, actor = make_archive(tmp_path / "data", db_url, messages=120)
    try:
        mine = ctx.archive.messages(actor, limit=10_000)
        first, last = mine[0].msgtime, mine[-1].msgtime
        other = ensure_corp(ctx.db, "wwsecondcorp")
        items = []
        for i in range(40):  # spread over the first corp's time span, some at its very times
            when = first + (last - first) * i // 39
            raw = _json.dumps({"msgid": f"second-{i}", "action": "send", "from": "zhaolei", "tolist": ["qianwu"],
                               "roomid": "", "msgtime": when, "msgtype": "text",
                               "text": {"content": f"第二家 {i}"}}).encode()
            items.append(Decrypted(ChatDataItem(i + 1, f"second-{i}", 1, "k", "m"), raw, parse_message(raw)))
        write_batch(ctx.db, other, 0, 40, items, None)
        corps = [c.id for c in ctx.archive.corps(actor)]
        every = sorted((m for c in corps for m in ctx.archive.messages(actor, corp_id=c, limit=10_000)),
                       key=lambda m: (m.msgtime, m.id))
        assert len(every) == len(mine) + 40
        assert ctx.archive.messages(actor, limit=10_000) == every
        assert ctx.archive.messages(actor, limit=10_000, newest_first=True) == every[::-1]
        window = [m for m in every if first + 1000 <= m.msgtime < last]
        assert ctx.archive.messages(actor, start_ms=first + 1000, end_ms=last, limit=10_000) == window
        paged, after = [], None  # page by page, as the search panel and the CLI page
        while page := ctx.archive.messages(actor, limit=7, after=after):
            paged += page
            after = (page[-1].msgtime, page[-1].id)
        assert paged == every
        paged, before = [], None
        while page := ctx.archive.messages(actor, limit=7, before=before, newest_first=True):
            paged += page
            before = (page[-1].msgtime, page[-1].id)
        assert paged == every[::-1]
    finally:
        ctx.close()
