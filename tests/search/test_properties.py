"""Property tests: random texts over a hostile alphabet, random substrings of them — the engine
finds every substring of the normalised text, and agrees with a substring scan on any other."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.actor import Actor
from app.core.search import SearchService
from app.core.search.text import match_spans
from app.core.store.db import open_database
from app.core.sync.pipeline import ensure_corp

from .corpus import T0, decrypted, norm

ACTOR = Actor.local()
ALPHABET = list("合同发票的一二三好嗯元aAbBzZ0159%_\\\"'()-:：，。 \n\t") + [
    "ＡＢ", "１", "ﬁ", "ß", "é", "e\u0301", "ｶ", "ﾞ", "😀", "👍", "🏻", "\u200d", "𠮷", "🇨", "🇳", "Σ", "ς", "İ", "\x01",
]
texts = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=30).map("".join)


def quoted(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.close()


def _writer(db):
    corp = ensure_corp(db, "wwprops")
    seq = itertools.count(1)
    ids = itertools.count(1)

    def write(batch: list[str]) -> list[str]:
        from app.core.sync.writer import write_batch

        items, msgids = [], []
        for text in batch:
            n = next(ids)
            msgid = f"p{n}"
            raw = json.dumps({"msgid": msgid, "action": "send", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "",
                              "msgtime": T0 + n, "msgtype": "text", "text": {"content": text}},
                             ensure_ascii=False).encode("utf-8")
            items.append(decrypted(next(seq), raw))
            msgids.append(msgid)
        first = items[0].item.seq - 1
        write_batch(db, corp, first, first + len(items), items, None)
        return msgids

    return write


def _examples(db_url: str) -> int:
    return 60 if db_url.startswith("sqlite") else 15


def test_every_substring_is_found_and_counts_agree_with_a_scan(db, db_url):
    write = _writer(db)
    service = SearchService(db)
    stored: dict[str, str] = {}

    @settings(max_examples=_examples(db_url), deadline=None, suppress_health_check=list(HealthCheck))
    @given(batch=st.lists(texts, min_size=1, max_size=4), data=st.data())
    def check(batch, data):
        msgids = write(batch)
        stored.update(zip(msgids, batch, strict=True))
        k = data.draw(st.integers(0, len(batch) - 1))
        text, msgid = batch[k], msgids[k]
        n = norm(text)
        a = data.draw(st.integers(0, len(n) - 1))
        b = data.draw(st.integers(a + 1, len(n)))
        needle = n[a:b]  # a substring of the normalised text: must be found
        hits = service.query(ACTOR, quoted(needle), limit=10_000)
        assert msgid in {h.message.msgid for h in hits}
        want = sorted(m for m, t in stored.items() if needle in norm(t))
        assert sorted(h.message.msgid for h in hits) == want
        assert service.query_count(ACTOR, quoted(needle)) == len(want)
        raw_sub = text[data.draw(st.integers(0, len(text) - 1)):][:data.draw(st.integers(1, 6))]
        want = sorted(m for m, t in stored.items() if norm(raw_sub) in norm(t))  # an original substring
        assert sorted(h.message.msgid for h in service.query(ACTOR, quoted(raw_sub), limit=10_000)) == want

    check()


@settings(max_examples=300, deadline=None)
@given(text=texts, data=st.data())
def test_offsets_cover_the_match_in_the_original_text(text, data):
    n = norm(text)
    a = data.draw(st.integers(0, len(n) - 1))
    needle = n[a:data.draw(st.integers(a + 1, len(n)))]
    spans = match_spans(text, [needle])
    assert spans, (text, needle)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
    # the highlighted original text, normalised, contains the needle somewhere
    assert any(needle in norm(text[s:e]) or norm(text[s:e]) in needle for s, e in spans)
