"""Hostile queries get a QueryError that says what and where — never a RecursionError, an overflow
or an encoding error: deep nesting, runs of NOT, very long queries, lone surrogates, dates of
year 1 and 9999; pages beyond the limit; an index folder that cannot be opened or updated."""

from __future__ import annotations

import errno
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth.audit import AuditTrail
from app.core.dates import FIRST_MS, LAST_MS
from app.core.search import QueryError, SearchIndexError, SearchService, parse_query
from app.core.search import service as service_module
from app.core.search.index import SearchIndex
from app.core.search.query import MAX_DEPTH, MAX_QUERY_CHARS, And, DateRange, Not, Text
from app.core.search.service import MAX_PAGE
from app.core.store.db import open_database
from app.core.store.models import AuditEntry
from app.core.sync.pipeline import ensure_corp

from .corpus import T0, _raw, write

ACTOR = Actor.local()


def _error(query: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_query(query, tz=UTC)
    return info.value


def test_nesting_is_limited_with_a_position_and_runs_of_not_fold():
    x = Text("x", "x")
    assert parse_query("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH) == x
    err = _error("(" * 300 + "x" + ")" * 300)
    assert "nest more than" in err.message and err.position == MAX_DEPTH
    assert parse_query("NOT " * 400 + "x") == x  # an even number: no NOT at all
    assert parse_query("NOT " * 399 + "x") == Not(x)
    assert parse_query("-" * 1001 + "x") == Not(x)
    assert parse_query("a " + "-NOT " * 300 + "b") == And((Text("a", "a"), Text("b", "b")))
    assert parse_query("-(" * 20 + "x" + ")" * 20) == x  # negations inside groups fold per level
    assert "must be followed" in _error("NOT " * 400).message


def test_long_queries_and_text_that_is_not_text_are_refused_where_they_go_wrong():
    assert parse_query("a " * (MAX_QUERY_CHARS // 2)) is not None
    err = _error("a " * 20_000)
    assert err.position == MAX_QUERY_CHARS and "40,000 characters" in err.message
    err = _error("合同 \udcff发票")  # an undecodable byte from the command line
    assert err.position == 3 and "not text" in err.message
    assert parse_query("a\x00b") == Text("a\x00b", "a\x00b")  # NUL is a character like any other


@pytest.mark.parametrize("query", [
    '"unbalanced', "((a)", "a)", "()", "OR", "AND", "NOT", "-", "a OR", "OR OR", "(OR)", "date:", "from:",
    "type:,", "x:" * 500, '"' * 999, "date:0000", "date:0000-00-00", "date:2025-02-30", "after:99999",
    "before:-1", "date:2025-01-01..0001-01-01", "date:1..2",
])
def test_malformed_queries_are_query_errors(query):
    err = _error(query)
    assert 0 <= err.position <= len(query)
    lines = err.terminal_pointer().splitlines()
    assert len(lines) == 2 and lines[1].endswith("^")


def test_dates_of_year_1_and_9999_are_filters():
    day = 86_400_000
    assert parse_query("date:0001-01-01", tz=UTC) == DateRange(FIRST_MS, FIRST_MS)  # before the archive: nothing
    assert parse_query("after:0001-01-01", tz=UTC) == DateRange(FIRST_MS, None)
    last_day = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000)
    assert parse_query("date:9999-12-31", tz=UTC) == DateRange(last_day, None)  # its end is past year 9999
    assert parse_query("date:9999", tz=UTC).end_ms is None
    assert parse_query("date:9999-12", tz=UTC).end_ms is None
    assert parse_query("before:9999-12-31T23:59", tz=UTC) == DateRange(None, last_day + day - 60_000)
    assert parse_query("date:..9999-12-31T23:59:58", tz=UTC) == DateRange(None, LAST_MS + 1 - 1_000)
    assert parse_query("date:..9999-12-31T23:59:59", tz=UTC) == DateRange(None, None)  # the end of time
    assert parse_query("date:1969..1970", tz=UTC) == DateRange(FIRST_MS, 365 * day)
    for zone in ("Asia/Shanghai", "America/New_York"):
        from zoneinfo import ZoneInfo

        parse_query("date:0001-01-01..9999-12-31", tz=ZoneInfo(zone))


def test_the_terminal_pointer_counts_wide_characters_and_windows_long_queries():
    err = _error('合同 "退款')
    assert err.terminal_pointer().splitlines()[1] == " " * 5 + "^"  # 合同 are two columns each
    err = _error("x " * 100 + '"open')
    shown, caret = err.terminal_pointer(width=40).splitlines()
    assert shown.startswith("…") and len(shown) <= 42 and shown[len(caret) - 1] == '"'
    err = _error("a\nb )")
    assert "\n" not in err.terminal_pointer().splitlines()[0] + "x" and err.terminal_pointer().count("\n") == 1


@pytest.fixture
def db(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'archive.db'}")
    yield database
    database.close()


def _messages(db):
    corp = ensure_corp(db, "wwlimits")
    write(db, corp, [_raw(f"q{i}", {"from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": T0 + i,
                                    "msgtype": "text", "text": {"content": f"合同 {i}"}}) for i in range(5)])
    return corp


def test_pages_are_limited_and_long_queries_recorded_cut(db):
    _messages(db)
    service = SearchService(db)
    with pytest.raises(ValueError, match="at most"):
        service.query(ACTOR, "合同", limit=MAX_PAGE + 1)
    assert len(service.query(ACTOR, "合同", limit=MAX_PAGE)) == 5
    with pytest.raises(QueryError):
        service.query(ACTOR, "合同 " * 10_000, record=True)
    with pytest.raises(QueryError):
        service.query(ACTOR, "\udcff", record=True)
    with db.read() as conn:
        recorded = conn.execute(select(AuditEntry.object).where(AuditEntry.outcome == "failed")
                                .order_by(AuditEntry.seq)).scalars().all()
    assert len(recorded[0]) < MAX_QUERY_CHARS + 40 and recorded[0].endswith("(30,000 characters)")
    assert recorded[1] in ("?", "\ufffd")  # stored, not an encoding error
    assert AuditTrail(db).verify(ACTOR).ok


def test_an_index_folder_that_cannot_be_opened_is_one_sentence(db, tmp_path, monkeypatch):
    _messages(db)
    (tmp_path / "a-file").write_text("x")
    service = SearchService(db, index_dir=tmp_path / "a-file" / "index")  # a file where a folder is needed
    with pytest.raises(SearchIndexError) as info:
        service.query(ACTOR, "合同")
    assert str(tmp_path / "a-file" / "index") in str(info.value) and "reindex" in str(info.value)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_an_index_that_cannot_be_updated_still_answers_exactly(db, tmp_path, monkeypatch, code):
    corp = _messages(db)
    service = SearchService(db, index_dir=tmp_path / "index")
    assert service.query_count(ACTOR, "合同") == 5  # built
    write(db, corp, [_raw("late", {"from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": T0 + 99,
                                   "msgtype": "text", "text": {"content": "合同 later"}})], start_seq=5)

    def full(self, *args, **kwargs):
        raise OSError(code, "simulated")

    monkeypatch.setattr(SearchIndex, "catch_up", full)
    assert [h.message.msgid for h in service.query(ACTOR, "合同", limit=2)] == ["late", "q4"]
    assert service.query_count(ACTOR, "合同") == 6  # the journal covers what the index lacks
    monkeypatch.setattr(SearchIndex, "rebuild", full)
    with pytest.raises(SearchIndexError, match="cannot be written"):
        service.reindex(ACTOR)
    assert service_module.MAX_PAGE == MAX_PAGE


SYNTAX = list('()"\\-:,|. \t\n') + ["OR", "AND", "NOT", "date:", "after:", "before:", "from:", "type:", "has:",
                                    "is:", "session:", "..", "0001", "9999", "-12-31", "-00", "T23:59", "\x00",
                                    "\udcff", "\ud800", "合", "𠮷", "ＡＢ", "media", "recalled"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(SYNTAX), max_size=60).map("".join))
def test_any_text_parses_or_is_a_query_error(text):
    try:
        parse_query(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
        assert exc.terminal_pointer().count("\n") == 1
