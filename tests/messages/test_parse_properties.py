"""Properties of parse_message: whatever WeCom (or a corrupted item) sends, it never raises anything
but MessageParseError, and what it returns is well-formed."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from message_kit import COMMON, FIELDS, INNER_TYPES, json_values

from app.core.messages import CATALOGUE, MessageParseError, ParsedMessage, parse_message

HEX32 = re.compile(r"[0-9a-f]{32}")
EXT_RE = re.compile(r"[a-z0-9]{1,10}")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])



def check(m: ParsedMessage) -> None:
    assert isinstance(m, ParsedMessage)
    for s in (m.msgid, m.action, m.sender, m.roomid, m.msgtype, m.summary_zh, m.summary_en, m.search_text):
        assert isinstance(s, str)
    assert m.summary_zh and m.summary_en
    assert isinstance(m.msgtime, int) and not isinstance(m.msgtime, bool)
    assert isinstance(m.tolist, tuple) and all(isinstance(t, str) for t in m.tolist)
    assert m.session_id is None or HEX32.fullmatch(m.session_id)
    assert m.session_type in (None, "internal", "external", "updown", "group", "system")
    assert isinstance(m.problems, tuple) and all(isinstance(p, str) for p in m.problems)
    assert len(m.problems) <= 51
    assert isinstance(m.supported, bool)
    assert m.recalled_msgid is None or (isinstance(m.recalled_msgid, str) and m.recalled_msgid)
    for ref in m.media:
        assert isinstance(ref.sdkfileid, str) and ref.sdkfileid
        assert isinstance(ref.md5sum, str) and isinstance(ref.path, str) and isinstance(ref.kind, str)
        assert ref.size is None or (isinstance(ref.size, int) and not isinstance(ref.size, bool))
        assert ref.filename is None or isinstance(ref.filename, str)
        assert ref.ext is None or EXT_RE.fullmatch(ref.ext)


def parse_or_reject(raw) -> ParsedMessage | None:
    try:
        m = parse_message(raw)
    except MessageParseError:
        return None
    check(m)
    return m


def envelope(msgtype: str) -> dict:
    return {"msgid": "m1", "action": "send", "from": "zhangsan", "tolist": ["lisi"], "roomid": "",
            "msgtime": 1700000000000, "msgtype": msgtype}


def dumps(d) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")


@SETTINGS
@given(msgtype=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_any_json_in_any_field_of_any_msgtype(msgtype, data):
    key, fields, top_fields = FIELDS[msgtype]
    d = envelope(msgtype)
    payload = {f: data.draw(json_values, label=f) for f in fields
               if data.draw(st.booleans(), label=f"has {f}")}
    if key is None:
        d.update(payload)
    else:
        d[key] = payload if data.draw(st.integers(0, 9)) else data.draw(json_values, label="payload")
    for f in top_fields:
        d[f] = data.draw(json_values, label=f)
    m = parse_or_reject(dumps(d))
    assert m is not None and m.msgtype == msgtype


@SETTINGS
@given(data=st.data())
def test_any_json_in_the_common_fields(data):
    msgtype = data.draw(st.sampled_from(sorted(FIELDS)))
    d = envelope(msgtype)
    for f in COMMON[1:]:
        if data.draw(st.booleans()):
            d[f] = data.draw(json_values, label=f)
    if data.draw(st.booleans()):
        d["action"] = "switch"
        d["user"] = data.draw(json_values, label="user")
        d["time"] = data.draw(json_values, label="time")
    parse_or_reject(dumps(d))


@SETTINGS
@given(msgtype=st.text(max_size=30), payload=json_values)
def test_random_msgtype_strings(msgtype, payload):
    d = envelope(msgtype)
    d.setdefault(msgtype or "x", payload)  # a msgtype named "msgid" must not replace the msgid
    m = parse_or_reject(dumps(d))
    assert m is not None
    assert m.supported or m.summary_en.startswith("[")
    if msgtype not in CATALOGUE:
        assert not m.supported


def inner_items(depth: int):
    """Items of chatrecord/mixed whose content is a JSON string of a plausible-or-arbitrary payload."""
    leaf_payload = st.dictionaries(
        st.sampled_from(["content", "sdkfileid", "md5sum", "filesize", "filename", "fileext", "title",
                         "voice_size", "play_length", "type", "imagesize"]), json_values, max_size=5)
    if depth > 0:
        payload = leaf_payload | st.fixed_dictionaries({"title": json_values, "item": inner_items(depth - 1)})
    else:
        payload = leaf_payload
    content = st.one_of(payload.map(lambda p: json.dumps(p, ensure_ascii=False)), json_values, payload)
    item = st.fixed_dictionaries(
        {"type": st.sampled_from(INNER_TYPES)},
        optional={"content": content, "msgtime": json_values, "from_chatroom": json_values})
    return st.lists(item | json_values, max_size=4)


@SETTINGS
@given(kind=st.sampled_from(["chatrecord", "mixed"]), items=inner_items(3))
def test_nested_chatrecord_and_mixed(kind, items):
    d = envelope(kind)
    d[kind] = {"title": "聊天记录", "item": items}
    m = parse_or_reject(dumps(d))
    assert m is not None and m.supported
    for ref in m.media:
        assert ref.path.startswith(kind + ".item[")


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes(raw):
    parse_or_reject(raw)


@SETTINGS
@given(value=json_values, msgid=st.one_of(st.text(max_size=10), json_values))
def test_arbitrary_json_documents(value, msgid):
    parse_or_reject(dumps(value))
    if isinstance(value, dict):
        value["msgid"] = msgid
        m = parse_or_reject(dumps(value))
        assert (m is not None) == (isinstance(msgid, str) and msgid != "")


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(1, 200), kind=st.sampled_from(["list", "dict", "chatrecord"]))
def test_deep_nesting(depth, kind):
    if kind == "list":
        value: object = "x"
        for _ in range(depth):
            value = [value]
        d = envelope("text")
        d["text"] = {"content": value}
    elif kind == "dict":
        value = {}
        for _ in range(depth):
            value = {"title": "t", "item": value}
        d = envelope("news")
        d["info"] = value
    else:
        # WeCom nests chat records as JSON strings; every level doubles the escaping, so real nesting
        # stays shallow. Objects-as-content (tolerated) do not grow and can go deep.
        inner: dict = {"content": "底"}
        for _ in range(depth):
            inner = {"title": "层", "item": [{"type": "ChatRecord", "content": inner}]}
        d = envelope("chatrecord")
        d["chatrecord"] = inner
    m = parse_or_reject(dumps(d))
    assert m is not None
