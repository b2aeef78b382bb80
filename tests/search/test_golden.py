"""Golden queries: for each query the engine's hits must equal a plain substring scan of the stored
messages (the truth is written here with its own predicates, not through the engine's parser),
on SQLite and on MariaDB; in every order, paged, and counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.core.actor import Actor
from app.core.search import SearchQuery, SearchService
from app.core.store.db import open_database
from app.core.store.models import Message
from app.core.sync.pipeline import ensure_corp

from .corpus import T0, UTC_DAY, build_messages, norm, write

ACTOR = Actor.local()


def ms(*ymd) -> int:
    return int(datetime(*ymd, tzinfo=UTC).timestamp() * 1000)


# ---- truth predicates over a stored row (dict) ------------------------------------------------
def T(s):
    n = norm(s)
    return lambda m: n in norm(m["content_text"])


def AND(*ps):
    return lambda m: all(p(m) for p in ps)


def OR(*ps):
    return lambda m: any(p(m) for p in ps)


def NOT(p):
    return lambda m: not p(m)


def FROM(x):
    return lambda m: m["sender"] == x


def TO(x):
    return lambda m: x in m["tolist"]


def ROOM(x):
    return lambda m: m["roomid"] == x


def TYPE(x):
    return lambda m: m["msgtype"] == x


def STYPE(x):
    return lambda m: m["session_type"] == x


def IN_SESSION_OF(msgid):
    return lambda m: m["session_id"] == SESSION_OF[msgid]


def RANGE(lo=None, hi=None):
    return lambda m: (lo is None or m["msgtime"] >= lo) and (hi is None or m["msgtime"] < hi)


MEDIA = lambda m: bool(m["has_media"])  # noqa: E731
RECALLED = lambda m: m["recalled_at"] is not None  # noqa: E731
EVERYTHING = lambda m: True  # noqa: E731

SESSION_OF: dict[str, str] = {}
D = T0  # 2025-01-01T00:00Z; messages are 8 hours apart

QUERIES = [
    # 1-character terms: CJK, Latin, digit, punctuation, wildcards, emoji, outside the BMP
    ("的", T("的")), ("一", T("一")), ("嗯", T("嗯")), ("元", T("元")), ("a", T("a")), ("5", T("5")),
    ("%", T("%")), ("_", T("_")), ("\\", T("\\")), ("，", T("，")), ("：", T(":")), ("👍", T("👍")),
    ("😀", T("😀")), ("𠮷", T("𠮷")), ("①", T("1")), ("ß", T("ss")), ("Σ", T("σ")), ("'", T("'")),
    # 2-character terms
    ("合同", T("合同")), ("发票", T("发票")), ("退款", T("退款")), ("的确", T("的确")), ("一二", T("一二")),
    ("好的", T("好的")), ("👍👍", T("👍👍")), ("50", T("50")), ("ab", T("ab")), ("%折", T("%折")),
    ("a_", T("a_")), ("\\p", T("\\p")), ("ss", T("ss")), ("fi", T("fi")), ("元旦", T("元旦")),
    ("😀 ", T("😀")), ("𠮷野", T("𠮷野")), ("한국", T("한국")),
    # 3+ characters, digits, Latin case and width
    ("合同已", T("合同已")), ("的的的", T("的的的")), ("的的", T("的的")), ("合同合同", T("合同合同")),
    ("13812345678", T("13812345678")), ("5000元", T("5000元")), ("ABC123", T("abc123")),
    ("ＡＢＣ１２３", T("abc123")), ("abc", T("abc")), ("hello", T("hello")), ("HELLO", T("hello")),
    ("WORLD", T("world")), ("straße", T("strasse")), ("STRASSE", T("strasse")), ("file", T("file")),
    ("ﬁle", T("file")), ("café", T("café")), ("CAFÉ", T("café")), ("テスト", T("テスト")),
    ("ｶﾞｽ", T("ガス")), ("ガス", T("ガス")), ("(株)", T("(株)")), ("tm商标", T("tm商标")),
    ("istanbul", T("istanbul")), ("σίσυφος", T("σίσυφος")), ("ΣΊΣΥΦΟΣ", T("σίσυφοσ")),
    ("a%b_c\\d", T("a%b_c\\d")), ("100%", T("100%")), ('"c:\\\\path"', T("c:\\path")),
    ("ZT8555", T("zt8555")), ("ro-400g", T("ro-400g")), ("指示灯一直", T("指示灯一直")),
    ("一二三四五", T("一二三四五")), ("三四五六", T("三四五六")), ("👨\u200d👩", T("👨\u200d👩")),
    ("👍🏻", T("👍🏻")), ("🇨🇳", T("🇨🇳")), ("￥5000", T("¥5000")), ("日用品", T("日用品")),
    # phrases (spaces included), escapes
    ('"退款 申请"', T("退款 申请")), ('"退款申请"', T("退款申请")), ('"hello world"', T("hello world")),
    ('"100% 完"', T("100% 完")), ('"\\"明天见\\""', T('"明天见"')), ('"说\\""', T('说"')), ('"(括号)"', T("(括号)")),
    ('"a_b 命"', T("a_b 命")), ('"\\\\path"', T("\\path")), ('" "', T(" ")), ('"tab\there"', T("tab\there")),
    # AND / OR / NOT / grouping
    ("合同 发", AND(T("合同"), T("发"))), ("合同 AND 盖章", AND(T("合同"), T("盖章"))),
    ("合同 OR 发票", OR(T("合同"), T("发票"))), ("合同 -盖章", AND(T("合同"), NOT(T("盖章")))),
    ("合同 NOT 盖章", AND(T("合同"), NOT(T("盖章")))), ("-的", NOT(T("的"))), ("NOT 的", NOT(T("的"))),
    ("(合同 OR 发票) 5000", AND(OR(T("合同"), T("发票")), T("5000"))),
    ("合同 OR 发票 OR 退款", OR(T("合同"), T("发票"), T("退款"))),
    ("(一 OR 二) -(三 OR 五)", AND(OR(T("一"), T("二")), NOT(OR(T("三"), T("五"))))),
    ("-(合同 OR 的) -a", AND(NOT(OR(T("合同"), T("的"))), NOT(T("a")))),
    ("元 -5000 -旦", AND(T("元"), NOT(T("5000")), NOT(T("旦")))),
    ("NOT NOT 合同", T("合同")), ("合同 OR -的", OR(T("合同"), NOT(T("的")))),
    ("fine ﬁne FINE", T("fine")),
    # fields
    ("from:zhangwei", FROM("zhangwei")), ("from:LiNa", FROM("LiNa")), ("from:lina", FROM("lina")),
    ("to:LiNa", TO("LiNa")), ("to:yuan.hui 的", AND(TO("yuan.hui"), T("的"))),
    ("room:wrRoomOne", ROOM("wrRoomOne")), ("type:file", TYPE("file")), ("type:image", TYPE("image")),
    ("type:revoke", TYPE("revoke")), ("type:image,file", OR(TYPE("image"), TYPE("file"))),
    ("session:group", STYPE("group")), ("session:internal", STYPE("internal")),
    ("session:external", STYPE("external")), ("session:group|external", OR(STYPE("group"), STYPE("external"))),
    ("in:SESSION_m002", IN_SESSION_OF("m002")), ("has:media", MEDIA), ("-has:media", NOT(MEDIA)),
    ("is:recalled", RECALLED), ("is:recalled 合同", AND(RECALLED, T("合同"))),
    ("date:2025-01-05", RANGE(ms(2025, 1, 5), ms(2025, 1, 6))),
    ("date:2025-01-02..2025-01-10", RANGE(ms(2025, 1, 2), ms(2025, 1, 11))),
    ("date:2025-01", RANGE(ms(2025, 1, 1), ms(2025, 2, 1))), ("date:2025", RANGE(ms(2025, 1, 1), ms(2026, 1, 1))),
    ("date:2025-01-10..", RANGE(ms(2025, 1, 10))), ("date:..2025-01-03", RANGE(None, ms(2025, 1, 4))),
    ("after:2025-01-15", RANGE(ms(2025, 1, 15))), ("before:2025-01-03", RANGE(None, ms(2025, 1, 3))),
    ("date:2025-01-01T08:00", RANGE(ms(2025, 1, 1, 8), ms(2025, 1, 1, 8, 1))),
    ("date:2024", RANGE(ms(2024, 1, 1), ms(2025, 1, 1))),
    # terms with filters
    ("的 from:zhangwei", AND(T("的"), FROM("zhangwei"))), ("合同 session:internal", AND(T("合同"), STYPE("internal"))),
    ("合同 date:2025-01-01..2025-01-03", AND(T("合同"), RANGE(ms(2025, 1, 1), ms(2025, 1, 4)))),
    ("的 after:2025-01-10", AND(T("的"), RANGE(ms(2025, 1, 10)))),
    ("合同 OR from:LiNa", OR(T("合同"), FROM("LiNa"))), ("-from:zhangwei 的", AND(NOT(FROM("zhangwei")), T("的"))),
    ("pdf type:file", AND(T("pdf"), TYPE("file"))), ("5000 -type:file", AND(T("5000"), NOT(TYPE("file")))),
    ("(from:LiNa OR from:yuan.hui) 一", AND(OR(FROM("LiNa"), FROM("yuan.hui")), T("一"))),
    ("的 room:wrRoomTwo before:2025-01-20", AND(T("的"), ROOM("wrRoomTwo"), RANGE(None, ms(2025, 1, 20)))),
    ("has:media 合同", AND(MEDIA, T("合同"))), ("is:recalled OR 𠮷", OR(RECALLED, T("𠮷"))),
    # no hits, and everything
    ("不存在的词", T("不存在的词")), ("zzz", T("zzz")), ("", EVERYTHING), ("from:nobody", FROM("nobody")),
]


@pytest.fixture(scope="module")
def golden_urls():
    return {}


@pytest.fixture
def archive(db_url):
    db = open_database(db_url)
    corp = ensure_corp(db, "wwgolden")
    write(db, corp, build_messages())
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(Message))]
    for r in rows:
        r["tolist"] = json.loads(r["tolist"])
        SESSION_OF[r["msgid"]] = r["session_id"]
    yield db, rows
    db.close()


def _expand(q: str) -> str:
    return q.replace("SESSION_m002", SESSION_OF["m002"])


def _truth(rows, pred, order="newest"):
    hits = [r for r in rows if pred(r)]
    if order == "oldest":
        hits.sort(key=lambda r: (r["msgtime"], r["id"]))
    elif order == "session":
        hits.sort(key=lambda r: (r["session_id"] or "", -r["msgtime"], -r["id"]))
    else:
        hits.sort(key=lambda r: (-r["msgtime"], -r["id"]))
    return [r["msgid"] for r in hits]


def test_golden_queries_equal_a_substring_scan(archive):
    db, rows = archive
    assert len(QUERIES) >= 100
    service = SearchService(db, tz=UTC)
    failures = []
    for q, pred in QUERIES:
        q = _expand(q)
        want = _truth(rows, pred)
        got = [h.message.msgid for h in service.query(ACTOR, q, limit=1000)]
        count = service.query_count(ACTOR, q)
        if got != want or count != len(want):
            failures.append(f"{q!r}: got {got} (count {count}), want {want}")
    assert not failures, "\n".join(failures)
    assert sum(1 for _q, p in QUERIES if _truth(rows, p)) >= 80  # most queries do hit something


@pytest.mark.parametrize("order", ["newest", "oldest", "session"])
def test_paging_in_every_order_walks_the_exact_result(archive, order):
    db, rows = archive
    service = SearchService(db, tz=UTC)
    for q, pred in [("", EVERYTHING), ("的 OR 合同 OR a", OR(T("的"), T("合同"), T("a"))), ("-的", NOT(T("的")))]:
        got, before = [], None
        while True:
            page = service.query(ACTOR, q, limit=4, before=before, order=order)
            got += [h.message.msgid for h in page]
            if len(page) < 4:
                break
            before = page[-1].cursor(order)
        assert got == _truth(rows, pred, order), (q, order)


def test_hits_carry_offsets_in_the_original_text(archive):
    db, _rows = archive
    service = SearchService(db, tz=UTC)
    by_id = {h.message.msgid: h for h in service.query(ACTOR, "abc123 OR 合同 OR 𠮷 OR ｶﾞ OR file", limit=100)}
    spans = {k: [h.message.content_text[a:b] for a, b in h.offsets] for k, h in by_id.items()}
    assert spans["m006"] == ["ＡＢＣ１２３"]
    assert spans["m005"] == ["ABC123"]
    assert spans["m040"] == ["合同合同"]  # overlapping/adjacent matches merge
    assert spans["m012"] == ["𠮷"] and by_id["m012"].message.recalled_at is not None
    assert spans["m032"] == ["ｶﾞ"]  # two half-width characters compose into one: both highlighted
    assert spans["m024"] == ["ﬁle"]


def test_the_panel_filters_use_the_same_engine(archive):
    db, rows = archive
    service = SearchService(db, tz=UTC)
    q = SearchQuery(keyword="退款 申请")
    assert [h.message.msgid for h in service.search(ACTOR, q)] == _truth(rows, T("退款 申请"))
    q = SearchQuery(keyword="ＡＢＣ", sender="LiNa", start_ms=D, end_ms=D + 100 * UTC_DAY)
    want = _truth(rows, AND(T("abc"), FROM("LiNa"), RANGE(D, D + 100 * UTC_DAY)))
    assert [h.message.msgid for h in service.search(ACTOR, q)] == want and service.count(ACTOR, q) == len(want)
    q = SearchQuery(keyword="%")
    assert service.count(ACTOR, q) == len(_truth(rows, T("%")))
    assert service.count(ACTOR, SearchQuery()) == len(rows)
