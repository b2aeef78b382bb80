"""Keeping the index current: the journal, searches while another process holds the index writer,
recalls of indexed messages, rebuilds, a replaced archive, the sync's follower, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
import tantivy
from sqlalchemy import select, update

from app.core.actor import Actor
from app.core.search import IndexFollower, SearchService
from app.core.search import journal as jr
from app.core.store.db import open_database
from app.core.store.models import Message
from app.core.sync.pipeline import ensure_corp

from .corpus import T0, _raw, build_messages, write

ACTOR = Actor.local()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.close()


def _text(msgid: str, text: str, t: int) -> bytes:
    return _raw(msgid, {"from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": t, "msgtype": "text",
                        "text": {"content": text}})


def _recall(msgid: str, target: str, t: int) -> bytes:
    return _raw(msgid, {"action": "recall", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": t,
                        "msgtype": "revoke", "revoke": {"pre_msgid": target}})


def _ids(hits):
    return [h.message.msgid for h in hits]


def test_the_journal_records_each_write_in_order(db):
    corp = ensure_corp(db, "wwjournal")
    seq = write(db, corp, [_text(f"j{i}", "x", T0 + i) for i in range(5)], batch=2)
    write(db, corp, [_recall("r1", "j1", T0 + 9)], start_seq=seq)
    with db.read() as conn:
        assert jr.heads(conn) == {corp: 4}
        entries = jr.read_entries(conn, corp, 0, 4)
        by_msgid = dict(conn.execute(select(Message.id, Message.msgid)).all())
    assert [by_msgid[i] for i in entries.new] == ["j0", "j1", "j2", "j3", "j4", "r1"]
    assert [by_msgid[i] for i in entries.changed] == ["j1"]  # the recall changed j1


def test_searches_cover_messages_the_index_has_not_caught_up_with(db):
    corp = ensure_corp(db, "wwtail")
    seq = write(db, corp, [_text("a1", "合同一", T0), _text("a2", "合同二", T0 + 1), _text("a3", "发票", T0 + 2)])
    service = SearchService(db)
    assert _ids(service.query(ACTOR, "合同")) == ["a2", "a1"]  # builds the index
    # Another process holds the index writer: this one cannot catch up ...
    other = tantivy.Index(service.index.schema, path=str(service.index.dir))
    writer = other.writer(15_000_000, 1)
    try:
        seq = write(db, corp, [_text("a4", "合同三", T0 + 3), _recall("r1", "a1", T0 + 4)], start_seq=seq)
        # ... yet new messages and the recall of an indexed one are found from the journal.
        assert _ids(service.query(ACTOR, "合同")) == ["a4", "a2", "a1"]
        assert _ids(service.query(ACTOR, "is:recalled")) == ["a1"]
        assert _ids(service.query(ACTOR, "合同 -is:recalled")) == ["a4", "a2"]
        assert service.query_count(ACTOR, "合同 -is:recalled") == 2
        assert service.index.snapshot().hwm[corp] == 1  # still the old index
    finally:
        writer.rollback()
        del writer, other
    assert _ids(service.query(ACTOR, "is:recalled")) == ["a1"]
    assert service.index.snapshot().hwm[corp] == 2  # caught up once the writer was free


def test_reindex_rebuilds_and_a_replaced_archive_is_detected(db, tmp_path):
    corp = ensure_corp(db, "wwrebuild")
    seq = write(db, corp, build_messages())
    service = SearchService(db)
    before = service.query_count(ACTOR, "的 OR a")
    seen = []
    assert service.reindex(ACTOR, progress=lambda done, total: seen.append((done, total))) == len(build_messages())
    assert seen[-1][0] == seen[-1][1] and service.query_count(ACTOR, "的 OR a") == before
    # A derived field changed behind the index's back (as after a parser fix) shows after a rebuild.
    with db.write() as conn:
        conn.execute(update(Message).where(Message.msgid == "m000").values(content_text="重新解析的文本"))
    assert service.query_count(ACTOR, "重新解析") == 0
    service.reindex(ACTOR)
    assert _ids(service.query(ACTOR, "重新解析")) == ["m000"]
    # The archive behind the index is replaced by an older copy (fewer journal rows): rebuilt.
    write(db, corp, [_text("late", "后来的消息", T0 + 10**9)], start_seq=seq)
    assert _ids(service.query(ACTOR, "后来的")) == ["late"]
    with db.write() as conn:
        conn.execute(jr.journal.delete().where(jr.journal.c.no > 3))
        conn.execute(jr.journal_heads.update().values(last_no=3))
        conn.execute(Message.__table__.delete().where(Message.msgid == "late"))
    assert service.query_count(ACTOR, "后来的") == 0


def test_the_sync_follower_keeps_the_index_current(db):
    corp = ensure_corp(db, "wwfollow")
    follower = IndexFollower(db)
    seq = 0
    for k in range(3):
        seq = write(db, corp, [_text(f"f{k}{i}", f"批次{k}", T0 + k * 10 + i) for i in range(5)], start_seq=seq)
        follower.poke()
    follower.close()
    service = SearchService(db)
    snap = service.index.snapshot()
    assert snap.built and snap.hwm[corp] == 3  # nothing left for the search to do
    assert service.query_count(ACTOR, "批次") == 15


def test_cli_search_json_and_reindex(db, db_url):
    from accounts_kit import cli_token

    corp = ensure_corp(db, "wwcli")
    write(db, corp, build_messages())
    env = {**os.environ, "WECOM_AUDITOR_TOKEN": cli_token(db)}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "app", *args, "--db", db_url], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env=env)

    out = run("reindex")
    assert out.returncode == 0, out.stderr
    assert f"Indexed {len(build_messages())} message(s)" in out.stdout
    out = run("search", "ＡＢＣ OR 𠮷", "--json", "--limit", "5", "--count")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    hits, total = lines[:-1], lines[-1]
    assert [h["msgid"] for h in hits] == ["m012", "m007", "m005", "m006"] and total == {"total": 4}
    assert hits[0]["offsets"] == [[0, 1]] and hits[0]["recalled_at"] is not None
    assert {"msgid", "session_id", "msgtime", "msgtype", "offsets"} <= set(hits[0])
    out = run("search", '合同 "退款')
    assert out.returncode == 1 and "never closed" in out.stderr and "^" in out.stderr


@pytest.mark.parametrize("order", ["newest", "oldest", "session"])
def test_pages_split_exactly_inside_runs_of_equal_msgtime(db, order):
    corp = ensure_corp(db, "wwties")
    raws = [_text(f"t{i:02d}", "同一时刻", T0 + (i // 10) * 1000) for i in range(40)]  # runs of 10 ties
    write(db, corp, raws, batch=7)
    service = SearchService(db)
    with db.read() as conn:
        rows = conn.execute(select(Message.msgid, Message.msgtime, Message.id, Message.session_id)).all()
    key = {"newest": lambda r: (-r.msgtime, -r.id), "oldest": lambda r: (r.msgtime, r.id),
           "session": lambda r: (r.session_id, -r.msgtime, -r.id)}[order]
    want = [r.msgid for r in sorted(rows, key=key)]
    for limit in (1, 3, 10, 11):
        got, before = [], None
        while page := service.query(ACTOR, "同一", limit=limit, before=before, order=order):
            got += _ids(page)
            before = page[-1].cursor(order)
        assert got == want, (order, limit)


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_pages_are_exact_across_many_time_buckets(db, order):
    corp = ensure_corp(db, "wwbuckets")
    day = 86_400_000
    # 120 messages 5 days apart (about 24 buckets of ~25 days); "常" in most, "稀" in a few old ones.
    raws = [_text(f"b{i:03d}", ("稀" if i in (3, 4, 50) else "") + ("常见" if i % 5 else "其他"), T0 + i * 5 * day)
            for i in range(120)]
    write(db, corp, raws, batch=40)
    service = SearchService(db)
    with db.read() as conn:
        rows = {r.msgid: r for r in conn.execute(select(Message.msgid, Message.msgtime, Message.id))}
    for q, pick in (("常见", lambda m: int(m[1:]) % 5 != 0), ("稀", lambda m: int(m[1:]) in (3, 4, 50)),
                    ("", lambda m: True)):
        chosen = sorted((rows[m] for m in rows if pick(m)), key=lambda r: (r.msgtime, r.id),
                        reverse=order == "newest")
        for limit in (1, 7, 50):
            got, before = [], None
            while page := service.query(ACTOR, q, limit=limit, before=before, order=order):
                got += _ids(page)
                before = page[-1].cursor(order)
            assert got == [r.msgid for r in chosen], (q, limit)
    assert len(service.index.buckets(service.index.snapshot().searcher)) > 8


def test_messages_written_during_a_rebuild_are_indexed_once(db, monkeypatch):
    from app.core.search import index as index_module

    corp = ensure_corp(db, "wwoverlap")
    seq = write(db, corp, [_text(f"o{i:02d}", "旧消息", T0 + i) for i in range(40)])
    service = SearchService(db)
    service.catch_up()
    monkeypatch.setattr(index_module, "SCAN_CHUNK", 10)
    state = {"seq": seq, "calls": 0}

    def during_scan(done, total):  # a sync writes while the scan is half way
        state["calls"] += 1
        if state["calls"] == 2:
            state["seq"] = write(db, corp, [_text("n1", "新消息", T0 + 100), _text("n2", "新消息", T0 + 101),
                                            _recall("r1", "o03", T0 + 102)], start_seq=state["seq"])

    service.reindex(ACTOR, progress=during_scan)
    assert service.index.pending(db)[2] is False  # the build applied the journal written meanwhile
    assert service.query_count(ACTOR, "新消息") == 2 and service.query_count(ACTOR, "旧消息") == 40
    assert _ids(service.query(ACTOR, "is:recalled")) == ["o03"]
    assert service.query_count(ACTOR, "") == 43


def test_date_filters_narrow_the_time_buckets_exactly(db):
    corp = ensure_corp(db, "wwdatebuckets")
    day = 86_400_000
    write(db, corp, [_text(f"d{i:03d}", "常见", T0 + i * 5 * day) for i in range(120)], batch=60)
    service = SearchService(db, tz=UTC)
    with db.read() as conn:
        rows = conn.execute(select(Message.msgid, Message.msgtime, Message.id)).all()
    lo, hi = T0 + 100 * day, T0 + 300 * day
    want = [r.msgid for r in sorted(rows, key=lambda r: (-r.msgtime, -r.id)) if lo <= r.msgtime < hi]
    q = "常见 date:2025-04-11..2025-10-27"  # T0 = 2025-01-01: day 100 .. day 299
    got, before = [], None
    while page := service.query(ACTOR, q, limit=6, before=before):
        got += _ids(page)
        before = page[-1].cursor()
    assert got == want and service.query_count(ACTOR, q) == len(want)
