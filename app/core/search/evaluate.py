"""A query tree evaluated on one message in Python: the engine for messages the index does not
cover yet (the few committed since its last update) and the reference the index must agree with."""

from __future__ import annotations

from .query import All, And, DateRange, Field, Node, Not, Or, Resolved, Text
from .text import normalise


class Candidate:
    """The fields a query can test, of one message (``norm`` is the normalised searchable text)."""

    __slots__ = ("id", "corp_id", "msgtime", "sender", "tolist", "session_id", "roomid", "msgtype",
                 "session_type", "has_media", "recalled", "norm")

    def __init__(self, *, id: int, msgtime: int, sender: str, tolist: tuple[str, ...] | list[str],
                 session_id: str | None, roomid: str, msgtype: str, session_type: str | None,
                 has_media: bool, recalled: bool, content_text: str, corp_id: int = 0):
        self.id = id
        self.corp_id = corp_id
        self.msgtime = msgtime
        self.sender = sender
        self.tolist = tuple(tolist)
        self.session_id = session_id or ""
        self.roomid = roomid or ""
        self.msgtype = msgtype
        self.session_type = session_type or ""
        self.has_media = bool(has_media)
        self.recalled = bool(recalled)
        self.norm = normalise(content_text or "")


def matches(node: Node, c: Candidate) -> bool:
    if isinstance(node, Text):
        return node.norm in c.norm
    if isinstance(node, And):
        return all(matches(i, c) for i in node.items)
    if isinstance(node, Or):
        return any(matches(i, c) for i in node.items)
    if isinstance(node, Not):
        return not matches(node.item, c)
    if isinstance(node, DateRange):
        return ((node.start_ms is None or c.msgtime >= node.start_ms)
                and (node.end_ms is None or c.msgtime < node.end_ms))
    if isinstance(node, All):
        return True
    if isinstance(node, Resolved):  # a review term, resolved when the search started
        return node.holds(c.corp_id, c.session_id, c.msgtime, c.id)
    assert isinstance(node, Field)
    name, v = node.name, node.value
    if name == "from":
        return c.sender == v
    if name == "to":
        return v in c.tolist
    if name == "in":
        return c.session_id == v
    if name == "room":
        return c.roomid == v
    if name == "type":
        return c.msgtype == v
    if name == "session":
        return c.session_type == v
    if name == "has" and node.value == "media":
        return c.has_media
    if name == "is":
        return c.recalled
    raise AssertionError(f"{name}:{node.value} is a review term: resolve it first (app/core/review/facts.py)")
