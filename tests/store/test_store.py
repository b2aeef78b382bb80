"""The archive store on SQLite and MariaDB: schema, ids, Unicode, dedup, reads through the service."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import inspect

from app.core.actor import Actor
from app.core.archive import ArchiveService
from app.core.messages import parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.store.db import DatabaseError, open_database
from app.core.store.ids import SnowflakeIds, id_time_ms
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import write_batch

ACTOR = Actor.local()


def _msg(msgid, text, *, sender="zhangwei", to="LiNa", t=1_700_000_000_000, roomid="", msgtype="text",
         extra=None):
    body = {"msgid": msgid, "action": "send", "from": sender, "tolist": [to], "roomid": roomid, "msgtime": t,
            "msgtype": msgtype}
    body.update(extra or {"text": {"content": text}})
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _decrypted(seq, raw):
    p = parse_message(raw)
    return Decrypted(ChatDataItem(seq, p.msgid, 1, "k", "m"), raw, p)


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.close()


def test_schema_has_every_table_and_index(db):
    insp = inspect(db.engine)
    assert {"corps", "messages", "sessions", "media", "sync_checkpoints", "sync_runs", "quarantine",
            "alembic_version"} <= set(insp.get_table_names())
    indexed = {tuple(ix["column_names"]) for ix in insp.get_indexes("messages")}
    for cols in [("corp_id", "session_id", "msgtime"), ("corp_id", "sender", "msgtime"),
                 ("corp_id", "msgtype", "msgtime"), ("corp_id", "msgtime")]:
        assert cols in indexed
    assert ("corp_id", "session_type", "last_msgtime") in {tuple(ix["column_names"])
                                                           for ix in insp.get_indexes("sessions")}


def test_unicode_round_trips_and_msgids_are_case_sensitive(db):
    corp = ensure_corp(db, "wwunicode")
    text = "表情😀🎉 生僻字𠮷𡃁 全角ＡＢＣ１２３ <b>x</b>"
    raws = [_msg("AbC=", text), _msg("abc=", "second", t=1_700_000_001_000)]
    counts = write_batch(db, corp, 0, 2, [_decrypted(1, raws[0]), _decrypted(2, raws[1])], None)
    assert (counts.stored, counts.duplicates) == (2, 0)  # "AbC=" and "abc=" are different WeCom msgids
    service = ArchiveService(db)
    detail = service.message(ACTOR, msgid="AbC=")
    assert detail.raw_json == raws[0] and detail.row.content_text == text
    session = service.sessions(ACTOR)[0]
    assert session.message_count == 2 and set(session.participants) == {"zhangwei", "LiNa"}


def test_batches_dedup_and_move_the_checkpoint(db):
    corp = ensure_corp(db, "wwdedup")
    batch = [_decrypted(i, _msg(f"m{i}", f"第{i}条", t=1_700_000_000_000 + i)) for i in range(1, 6)]
    assert write_batch(db, corp, 0, 5, batch, None).stored == 5
    again = write_batch(db, corp, 5, 7, batch + [batch[0]], None)
    assert (again.stored, again.duplicates) == (0, 6)
    from app.core.sync.writer import ConcurrentSyncError

    with pytest.raises(ConcurrentSyncError):  # someone else's checkpoint moved: refuse, lose nothing
        write_batch(db, corp, 5, 9, batch, None)
    service = ArchiveService(db)
    rows = service.messages(ACTOR, corp_id=corp)
    assert [r.msgid for r in rows] == [f"m{i}" for i in range(1, 6)]
    assert service.sessions(ACTOR, corp)[0].message_count == 5


def test_recall_marks_the_recalled_message(db):
    corp = ensure_corp(db, "wwrecall")
    original = _decrypted(1, _msg("orig", "说错了"))
    recall = _decrypted(2, _msg("rev", "", t=1_700_000_005_000, msgtype="revoke",
                                extra={"action": "recall", "revoke": {"pre_msgid": "orig"}}))
    write_batch(db, corp, 0, 2, [original, recall], None)
    detail = ArchiveService(db).message(ACTOR, msgid="orig")
    assert detail.row.recalled_at == 1_700_000_005_000
    assert ArchiveService(db).message(ACTOR, msgid="rev").row.recalled_msgid == "orig"


def test_message_paging_by_key_and_window(db):
    corp = ensure_corp(db, "wwpaging")
    batch = [_decrypted(i, _msg(f"p{i}", str(i), t=1_700_000_000_000 + (i // 2) * 1000)) for i in range(1, 41)]
    write_batch(db, corp, 0, 40, batch, None)
    service = ArchiveService(db)
    sid = service.sessions(ACTOR, corp)[0].session_id
    seen, after = [], None
    while True:
        page = service.messages(ACTOR, corp_id=corp, session_id=sid, limit=7, after=after)
        if not page:
            break
        seen += [m.msgid for m in page]
        after = (page[-1].msgtime, page[-1].id)
    assert seen == [f"p{i}" for i in range(1, 41)]
    newest = service.messages(ACTOR, corp_id=corp, session_id=sid, limit=3, newest_first=True)
    assert [m.msgid for m in newest] == ["p40", "p39", "p38"]
    window = service.messages(ACTOR, corp_id=corp, start_ms=1_700_000_005_000, end_ms=1_700_000_007_000)
    assert {m.msgtime for m in window} == {1_700_000_005_000, 1_700_000_006_000}


def test_snowflake_ids_are_unique_and_time_ordered_across_threads():
    ids = SnowflakeIds(node=5)
    out: list[list[int]] = [[] for _ in range(4)]

    def take(i):
        out[i] = [ids.next_id() for _ in range(20000)]

    threads = [threading.Thread(target=take, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [x for chunk in out for x in chunk]
    assert len(set(everything)) == len(everything)
    assert all(a < b for chunk in out for a, b in zip(chunk, chunk[1:], strict=False))
    assert abs(id_time_ms(everything[0]) - id_time_ms(everything[-1])) < 60_000


def test_two_processes_get_different_nodes(db_url):
    a, b = open_database(db_url), open_database(db_url)
    try:
        assert a.ids.node != b.ids.node
    finally:
        a.close()
        b.close()


def test_bad_urls_give_clear_errors(tmp_path):
    with pytest.raises(DatabaseError, match="unsupported database"):
        open_database("postgresql://x@localhost/db")
    with pytest.raises(DatabaseError, match="cannot open"):
        open_database("mysql+pymysql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(DatabaseError) as err:
        open_database("mysql+pymysql://nobody:hunter2@127.0.0.1:1/none")
    assert "hunter2" not in str(err.value)
