"""Decrypted message JSON → ParsedMessage.

``parse_message`` is total over every JSON object that has a msgid: wrong field types, nulls,
missing keys, unknown msgtypes, inner content that is not JSON, absurd nesting are all tolerated,
given defaults and listed in ``problems``. It raises only MessageParseError, for the four cases that
leave nothing to archive as a message (see MessageParseError).

Each msgtype's parser, record, labels, summary and search text are declared once in
``catalogue.py`` and found through the registry (``registry.py``); this module handles the envelope
(common fields, sessions, recalls, switch entries) and finds the payload a declaration names.

It runs in the sync's hot path (thousands of messages per second next to RSA): one ``json.loads``
for the message (one more per chatrecord/mixed item, whose content WeCom sends as a JSON string),
fast paths for well-typed fields, and no regex.

Variants tolerated (each noted in problems): markdown under "markdown" instead of "info" and, more
generally, any payload under its msgtype's name when the catalogue key is missing; agree/disagree
fields at the top level of the message; chatrecord/mixed item content given as an object instead of
a JSON string; a text item whose content is plain text instead of JSON; a UTF-8 BOM.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .catalogue import Revoke, Switch  # importing the catalogue declares every msgtype
from .payload import MAX_DEPTH, MISSING, Notes, Payload, kind_of
from .records import MessageParseError, ParsedMessage, Unsupported
from .registry import CATALOGUE, MSGTYPES, MsgType, inner_msgtype
from .session import session_and_notes
from .text import clip, search_texts, summarize, summary_by

__all__ = ["MAX_DEPTH", "CATALOGUE", "inner_msgtype", "parse_message"]

_SWITCH = MSGTYPES["switch"]  # picked by the entry's action: it has no msgtype


def _payload(notes: Notes, msg: dict[str, Any], spec: MsgType) -> tuple[object, str]:
    """The payload object of a top-level message and the key it was found under ("": the message)."""
    msgtype, key = spec.name, spec.key
    if key is None:
        return msg, ""
    p = msg.get(key, MISSING)
    if type(p) is dict:
        return p, key
    if key != msgtype and type(msg.get(msgtype)) is dict:
        notes.note(f"{msgtype} payload found under {msgtype!r} instead of {key!r}")
        return msg[msgtype], msgtype
    if p is MISSING and any(f in msg for f in spec.top_level_fallback):
        notes.note(f"{msgtype} fields at the top level instead of under {key!r}")
        return msg, ""
    if p is MISSING:
        notes.note(f"{key} payload is missing")
        return None, key
    notes.note(f"{key} payload is {kind_of(p)}, expected an object")
    return p, key


_COMMON_KEYS = frozenset({"msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype"})


def _unknown_payload(msg: dict[str, Any], msgtype: str) -> object:
    """What an unknown msgtype carries: the value under its name, else every non-common key.

    New types do not always follow the msgtype-named-key habit (several use "info", vote uses the top
    level); keeping the rest of the message makes them displayable and searchable.
    """
    if msgtype and msgtype in msg and msgtype not in _COMMON_KEYS:
        return msg[msgtype]
    rest = {k: v for k, v in msg.items() if k not in _COMMON_KEYS}
    return rest or None


def _read_json(raw: bytes | bytearray | memoryview | str, notes: Notes) -> object:
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            raise MessageParseError(f"message is not valid UTF-8 (at byte {e.start})") from None
    else:
        raise TypeError(f"parse_message takes bytes or str, not {type(raw).__name__}")
    if text.startswith("\ufeff"):
        notes.note("message starts with a byte order mark")
        text = text[1:]
    try:
        return json.loads(text)
    except RecursionError:
        raise MessageParseError("message JSON nests too deeply to decode") from None
    except ValueError as e:  # JSONDecodeError, and int literals beyond Python's digit limit
        raise MessageParseError(f"message is not valid JSON: {e}") from None


def parse_message(raw: bytes | str) -> ParsedMessage:
    """Parse one decrypted message (the plaintext DecryptData returned) into a ParsedMessage.

    Accepts the UTF-8 bytes or the decoded text. Raises MessageParseError when the entry cannot be
    archived as a message (not UTF-8, not JSON, not an object, no non-empty string msgid); TypeError
    for an argument that is neither bytes nor str. Never raises otherwise: every other oddity is
    tolerated and described in ``problems``. Pure and thread-safe.
    """
    notes = Notes()
    msg = _read_json(raw, notes)
    if type(msg) is not dict:
        raise MessageParseError(f"message JSON is {kind_of(msg)}, expected an object")
    msgid = msg.get("msgid")
    if type(msgid) is not str or not msgid:
        raise MessageParseError("message has no msgid string")

    action = msg.get("action")
    if type(action) is not str:
        action = Payload(notes, msg, msg, "", "", 0).string("action", True)
    recalled: str | None = None
    spec: MsgType | None
    if action == "switch":  # a log entry of its own shape: user, time
        spec = _SWITCH
        switch: Switch = _SWITCH.parse(Payload(notes, msg, msg, "", "switch", 0))
        sender = switch.user
        msgtime = switch.time if switch.time is not None else 0
        tolist: tuple[str, ...] = ()
        roomid = ""
        msgtype = "switch"
        content: object = switch
        supported = True
    else:
        # Every message of a sync passes here: well-typed common fields are taken as they are, and
        # only an entry with an odd one is read field by field with notes.
        f, to, room, t, mt = msg.get("from"), msg.get("tolist"), msg.get("roomid"), msg.get("msgtime"), \
            msg.get("msgtype")
        if (type(f) is str and type(room) is str and type(t) is int and type(mt) is str
                and type(to) is list and all(type(x) is str for x in to)):
            sender, tolist, roomid, msgtime, msgtype = f, tuple(to), room, t, mt
        else:
            envelope = Payload(notes, msg, msg, "", "", 0)
            sender = envelope.string("from", True)
            tolist = envelope.strings("tolist", True)
            roomid = envelope.string("roomid")
            t = envelope.integer("msgtime", True)
            msgtime = t if t is not None else 0
            msgtype = envelope.string("msgtype", True)
        spec = CATALOGUE.get(msgtype)
        if spec is None:
            content = Unsupported(msgtype, _unknown_payload(msg, msgtype))
            supported = False
        else:
            p, where = _payload(notes, msg, spec)
            if type(p) is dict:
                content = spec.parse(Payload(notes, p, msg, where, msgtype, 0))
                supported = True
            else:
                content = Unsupported(msgtype, p)
                supported = False
        if type(content) is Revoke:
            recalled = content.pre_msgid or None
            if action != "recall":
                notes.note(f"revoke message with action {clip(action, 20)!r}, expected 'recall'")
        elif action == "recall":
            notes.note(f"recall entry with msgtype {clip(msgtype, 40)!r}, expected 'revoke'")

    session_id, session_type, session_notes = session_and_notes(sender, tolist, roomid, msgid, action)
    for n in session_notes:
        notes.note(n)
    texts: Iterable[str]
    if supported and spec is not None:  # the declaration at hand (the sync's hot path)
        summary_zh, summary_en = summary_by(spec, content)
        texts = spec.search(content) if spec.search is not None else ()
    else:
        summary_zh, summary_en = summarize(msgtype, content)
        texts = search_texts(content)
    return ParsedMessage(
        msgid=msgid,
        action=action,
        sender=sender,
        tolist=tolist,
        roomid=roomid,
        msgtime=msgtime,
        msgtype=msgtype,
        session_id=session_id,
        session_type=session_type,
        content=content,
        summary_zh=summary_zh,
        summary_en=summary_en,
        search_text="\n".join([s for s in texts if s]),
        media=tuple(notes.media),
        recalled_msgid=recalled,
        supported=supported,
        problems=tuple(notes.problems),
    )
