"""The msgtype registry: each msgtype declared once, and every lookup answering from that declaration."""

from __future__ import annotations

import dataclasses

import pytest

from app.core.messages import (
    CATALOGUE,
    LABELS,
    MSGTYPES,
    for_record,
    inner_msgtype,
    label_of,
    payload_key,
    search_text_of,
    summarize,
)
from app.core.messages.catalogue import RedPacket, Switch, Text
from app.core.messages.registry import message_type


def test_every_msgtype_is_declared_once_with_a_frozen_record_and_both_labels():
    assert set(LABELS) == set(MSGTYPES)
    assert set(CATALOGUE) == set(MSGTYPES) - {"switch"}  # switch is picked by its action
    for name, spec in MSGTYPES.items():
        assert spec.name == name
        assert dataclasses.is_dataclass(spec.record) and spec.record.__dataclass_params__.frozen, name
        assert LABELS[name] == (spec.zh, spec.en) and spec.zh.strip() and spec.en.strip(), name
        assert callable(spec.parse), name


def test_lookups_answer_from_the_declarations():
    assert label_of("file", chinese=True) == "文件" and label_of("file", chinese=False) == "File"
    assert label_of("hologram", chinese=True) == "hologram"  # unknown: shown as it is
    assert payload_key("docmsg") == "doc" and payload_key("vote") == "" and payload_key("hologram") == "hologram"
    assert inner_msgtype("ChatRecordFile") == "file" and inner_msgtype("ChatRecordSwitch") == ""
    assert for_record(Text("x")) is MSGTYPES["text"] and for_record(Switch("u", 1)) is MSGTYPES["switch"]
    packet = RedPacket(2, "新年快乐", 5, 10000)
    assert for_record(packet) is MSGTYPES["redpacket"]  # the first declared for a shared record class
    assert summarize("external_redpacket", packet)[0] == "[互通红包] 新年快乐"
    assert summarize("redpacket", packet)[1] == "[Red packet] 新年快乐"
    assert search_text_of(packet) == "新年快乐"


def test_a_msgtype_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="registered twice"):
        message_type("text", Text, zh="文本", en="Text")(lambda p: Text(""))
    assert MSGTYPES["text"].record is Text
