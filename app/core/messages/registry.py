"""The msgtype registry: one :class:`MsgType` per msgtype, declared once in ``catalogue.py``.

A declaration says everything the app knows about a msgtype — its record class, parser, payload
key, labels in both languages, summary, search text (media refs are recorded by the parser) — and
everything else looks it up here: the parser (``parse.py``), summaries and search text (``text.py``),
the viewer (``app/ui/viewer/render.py`` keeps a renderer per record class, the Qt side of the same
registry), the search panel's type filter, and the exports (through the summaries and search text).

    @message_type("file", File, zh="文件", en="File", detail=lambda r: r.filename,
                  search=lambda r: (r.filename,))
    def _file(p: Payload) -> File: ...

Lookups: :data:`MSGTYPES` (every msgtype, in declaration order), :data:`CATALOGUE` (those parsed by
the ``msgtype`` field, i.e. all but entries picked by their action such as "switch"),
:func:`for_record`, :func:`label_of`, :data:`LABELS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Parser = Callable[[Any], Any]           # Payload -> record (Any: payload.py imports this module)
Summary = Callable[[Any, "MsgType"], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class MsgType:
    """One msgtype as the app handles it. Built by :func:`message_type`; read, never changed."""

    name: str                    # as WeCom spells it: "image", "external_redpacket"
    record: type                 # the frozen dataclass parse gives
    parse: Parser                # Payload -> record; records media with Payload.media
    key: str | None              # the payload's key in the message; None: fields at the top level
    zh: str                      # the label, "图片"
    en: str                      # the label, "Image"
    detail: Callable[[Any], str] | None = None      # summary "[label] detail"; None: "[label]"
    summary: Summary | None = None                  # the whole (zh, en) summary, when not "[label] detail"
    search: Callable[[Any], Iterable[str]] | None = None  # searchable texts: written by people, no ids
    container: bool = False      # chatrecord/mixed: items get their own path segment ("….mixed.item[2]")
    top_level_fallback: tuple[str, ...] = ()         # fields accepted at the top level when key is absent
    item_from_text: Callable[[str], Any] | None = None  # an item whose content is not JSON, taken as text
    action: str | None = None    # picked by the entry's action instead of its msgtype ("switch")


MSGTYPES: dict[str, MsgType] = {}
CATALOGUE: dict[str, MsgType] = {}      # picked by the message's "msgtype" field
LABELS: dict[str, tuple[str, str]] = {}  # msgtype -> (zh, en), every msgtype
_BY_RECORD: dict[type, MsgType] = {}


def message_type(name: str, record: type, *, zh: str, en: str, key: str = "", top_level: bool = False,
                 detail: Callable[[Any], str] | None = None, summary: Summary | None = None,
                 search: Callable[[Any], Iterable[str]] | None = None, container: bool = False,
                 top_level_fallback: tuple[str, ...] = (), item_from_text: Callable[[str], Any] | None = None,
                 action: str | None = None) -> Callable[[Parser], Parser]:
    """Register the decorated parser as the msgtype ``name`` (see :class:`MsgType` for the fields).

    ``key`` defaults to ``name``; ``top_level=True`` reads the fields from the message itself (vote).
    Several msgtypes may share a record class and parser (redpacket, external_redpacket); the first
    registered answers :func:`for_record`. Raises ValueError for a name registered twice.
    """

    def register(parse: Parser) -> Parser:
        if name in MSGTYPES:
            raise ValueError(f"msgtype {name!r} is registered twice")
        spec = MsgType(name, record, parse, None if top_level else (key or name), zh, en, detail, summary,
                       search, container, top_level_fallback, item_from_text, action)
        MSGTYPES[name] = spec
        LABELS[name] = (zh, en)
        if action is None:
            CATALOGUE[name] = spec
        _BY_RECORD.setdefault(record, spec)
        return parse

    return register


def for_record(record: object) -> MsgType | None:
    """The msgtype whose record class ``record`` is (the first registered for a shared class)."""
    return _BY_RECORD.get(type(record))


def spec_of(msgtype: str, record: object) -> MsgType | None:
    """The declaration of ``record`` given as ``msgtype``: that msgtype when ``record`` is of its class
    (so external_redpacket keeps its label), else the one its class is registered for."""
    spec = MSGTYPES.get(msgtype)
    if spec is not None and type(record) is spec.record:
        return spec
    return _BY_RECORD.get(type(record))


def label_of(msgtype: str, chinese: bool) -> str:
    """The label of a msgtype ("图片" / "Image"); an unknown msgtype is shown as it is."""
    labels = LABELS.get(msgtype)
    if labels is None:
        return msgtype
    return labels[0] if chinese else labels[1]


def inner_msgtype(item_type: str) -> str:
    """The catalogue msgtype of a chatrecord/mixed item type ("ChatRecordImage" → "image"); "" if none."""
    t = item_type.lower()
    if len(t) > 10 and t.startswith("chatrecord"):
        t = t[10:]
    return t if t in CATALOGUE else ""


def payload_key(msgtype: str) -> str:
    """Where a top-level msgtype's payload sits, which is also its media path ("docmsg" → "doc");
    "" for top-level fields; an unknown msgtype's own name."""
    spec = CATALOGUE.get(msgtype)
    return (spec.key or "") if spec else msgtype
