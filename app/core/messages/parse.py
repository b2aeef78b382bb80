"""Decrypted message JSON → ParsedMessage.

``parse_message`` is total over every JSON object that has a msgid: wrong field types, nulls,
missing keys, unknown msgtypes, inner content that is not JSON, absurd nesting are all tolerated,
given defaults and listed in ``problems``. It raises only MessageParseError, for the four cases that
leave nothing to archive as a message (see MessageParseError).

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
import math
from collections.abc import Callable

from .records import (
    Agree,
    Calendar,
    Card,
    ChatRecord,
    ChatRecordItem,
    Collect,
    CollectDetail,
    DemoFile,
    Disagree,
    DocMsg,
    Emotion,
    File,
    Image,
    Link,
    Location,
    Markdown,
    MediaRef,
    Meeting,
    MeetingVoiceCall,
    MessageParseError,
    Mixed,
    MixedItem,
    News,
    NewsItem,
    ParsedMessage,
    QyDiskFile,
    RedPacket,
    Revoke,
    ShareScreen,
    SphFeed,
    Switch,
    Text,
    Todo,
    Unsupported,
    Video,
    Voice,
    VoipDocShare,
    VoipText,
    Vote,
    Weapp,
)
from .session import session_and_notes
from .text import clip, collect_search_text, summarize

MAX_DEPTH = 8          # chatrecord/mixed nesting levels parsed; deeper items stay Unsupported
MAX_PROBLEMS = 50      # a hostile message must not produce an unbounded problem list

_MISSING = object()


class _Ctx:
    """What one parse accumulates besides the records: problems and media references."""

    __slots__ = ("problems", "media")

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.media: list[MediaRef] = []

    def note(self, problem: str) -> None:
        n = len(self.problems)
        if n < MAX_PROBLEMS:
            self.problems.append(problem)
        elif n == MAX_PROBLEMS:
            self.problems.append("more problems not listed")


# --- field coercion ------------------------------------------------------------------------------
# Fast path inline (the value has the right type), slow path in a helper that converts what it can
# and notes what it did. ``where`` is the dotted path of the object holding ``key`` ("" at top).


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _s(ctx: _Ctx, p: dict, key: str, where: str, required: bool = False) -> str:
    v = p.get(key, _MISSING)
    if type(v) is str:
        return v
    if v is _MISSING:
        if required:
            ctx.note(f"{_at(where, key)} is missing")
        return ""
    return _to_str(ctx, v, _at(where, key))


def _to_str(ctx: _Ctx, v: object, at: str) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        ctx.note(f"{at} is a number, expected a string")
        return str(v)
    ctx.note(f"{at} is {_kind(v)}, expected a string")
    return ""


def _i(ctx: _Ctx, p: dict, key: str, where: str, required: bool = False) -> int | None:
    v = p.get(key, _MISSING)
    if type(v) is int:
        return v
    if v is _MISSING:
        if required:
            ctx.note(f"{_at(where, key)} is missing")
        return None
    return _to_int(ctx, v, _at(where, key))


def _to_int(ctx: _Ctx, v: object, at: str) -> int | None:
    if type(v) is float and v.is_integer():  # False for inf and nan
        ctx.note(f"{at} is a float, expected an integer")
        return int(v)
    if type(v) is str:
        t = v.strip()
        if t and len(t) <= 40 and "_" not in t:
            try:
                n = int(t)
            except ValueError:
                pass
            else:
                ctx.note(f"{at} is a string holding an integer")
                return n
    ctx.note(f"{at} is {_kind(v)}, expected an integer")
    return None


def _f(ctx: _Ctx, p: dict, key: str, where: str) -> float | None:
    v = p.get(key, _MISSING)
    if type(v) is float and math.isfinite(v):
        return v
    if v is _MISSING:
        return None
    at = _at(where, key)
    if type(v) is int:
        try:
            return float(v)
        except OverflowError:
            pass
    elif type(v) is str and len(v) <= 40:
        try:
            f = float(v)
        except ValueError:
            pass
        else:
            if math.isfinite(f):
                ctx.note(f"{at} is a string holding a number")
                return f
    ctx.note(f"{at} is {_kind(v)}, expected a finite number")
    return None


def _b(ctx: _Ctx, p: dict, key: str, where: str) -> bool:
    v = p.get(key, _MISSING)
    if type(v) is bool:
        return v
    if v is _MISSING:
        return False
    at = _at(where, key)
    if type(v) is int and v in (0, 1):
        ctx.note(f"{at} is a number, expected a boolean")
        return bool(v)
    if type(v) is str and v.lower() in ("true", "false"):
        ctx.note(f"{at} is a string, expected a boolean")
        return v.lower() == "true"
    ctx.note(f"{at} is {_kind(v)}, expected a boolean")
    return False


def _sl(ctx: _Ctx, p: dict, key: str, where: str, required: bool = False) -> tuple[str, ...]:
    v = p.get(key, _MISSING)
    if type(v) is list:
        if all(type(x) is str for x in v):
            return tuple(v)
        out = []
        converted = dropped = 0
        for x in v:
            if type(x) is str:
                out.append(x)
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                out.append(str(x))
                converted += 1
            else:
                dropped += 1
        ctx.note(f"{_at(where, key)} holds non-strings ({converted} numbers kept as text, {dropped} dropped)")
        return tuple(out)
    if v is _MISSING:
        if required:
            ctx.note(f"{_at(where, key)} is missing")
        return ()
    if type(v) is str:
        ctx.note(f"{_at(where, key)} is a string, not a list")
        return (v,)
    ctx.note(f"{_at(where, key)} is {_kind(v)}, expected a list of strings")
    return ()


def _objects(ctx: _Ctx, p: dict, key: str, where: str) -> list[tuple[int, dict]]:
    """The (index, object) pairs of a list of objects; non-objects are noted and skipped."""
    v = p.get(key, _MISSING)
    if type(v) is list:
        out = []
        for i, x in enumerate(v):
            if type(x) is dict:
                out.append((i, x))
            else:
                ctx.note(f"{_at(where, key)}[{i}] is {_kind(x)}, expected an object")
        return out
    if v is _MISSING:
        return []
    if type(v) is dict:
        ctx.note(f"{_at(where, key)} is an object, expected a list: taken as one item")
        return [(0, v)]
    ctx.note(f"{_at(where, key)} is {_kind(v)}, expected a list")
    return []


# --- media -------------------------------------------------------------------------------------

def _clean_ext(ext: str) -> str | None:
    ext = ext.strip().lstrip(".").lower()
    if 0 < len(ext) <= 10 and ext.isascii() and ext.isalnum():
        return ext
    return None


def _ext_from_name(filename: str) -> str | None:
    base = filename[-64:].replace("\\", "/").rpartition("/")[2]
    stem, dot, ext = base.rpartition(".")
    return _clean_ext(ext) if dot and stem else None


def _media(ctx: _Ctx, p: dict, sdkfileid: str, md5sum: str, size: int | None, kind: str,
           filename: str | None, ext: str | None, path: str) -> None:
    if sdkfileid:
        ctx.media.append(MediaRef(sdkfileid, md5sum, size, kind, filename, ext, path))
    elif "sdkfileid" in p:  # a missing one is already noted as missing
        ctx.note(f"{_at(path, 'sdkfileid')} is empty: no media to fetch")


# --- one parser per msgtype ----------------------------------------------------------------------
# parser(ctx, payload, top, where, kind, depth): ``top`` is the whole message for top-level entries
# (vote and the voice/voip ids live there) and the payload itself inside chatrecord/mixed; ``where``
# is the payload's path, also the media path; ``kind`` the media kind (msgtype or item type).

Parser = Callable[[_Ctx, dict, dict, str, str, int], object]


def _text(ctx, p, top, where, kind, depth):
    return Text(_s(ctx, p, "content", where, True))


def _image(ctx, p, top, where, kind, depth):
    r = Image(_s(ctx, p, "sdkfileid", where, True), _s(ctx, p, "md5sum", where),
              _i(ctx, p, "filesize", where))
    _media(ctx, p, r.sdkfileid, r.md5sum, r.filesize, kind, None, "jpg", where)
    return r


def _revoke(ctx, p, top, where, kind, depth):
    return Revoke(_s(ctx, p, "pre_msgid", where, True))


def _agree(ctx, p, top, where, kind, depth):
    return Agree(_s(ctx, p, "userid", where), _i(ctx, p, "agree_time", where))


def _disagree(ctx, p, top, where, kind, depth):
    return Disagree(_s(ctx, p, "userid", where), _i(ctx, p, "disagree_time", where))


def _voice(ctx, p, top, where, kind, depth):
    r = Voice(_s(ctx, p, "sdkfileid", where, True), _s(ctx, p, "md5sum", where),
              _i(ctx, p, "voice_size", where), _i(ctx, p, "play_length", where))
    _media(ctx, p, r.sdkfileid, r.md5sum, r.voice_size, kind, None, "amr", where)
    return r


def _video(ctx, p, top, where, kind, depth):
    r = Video(_s(ctx, p, "sdkfileid", where, True), _s(ctx, p, "md5sum", where),
              _i(ctx, p, "filesize", where), _i(ctx, p, "play_length", where))
    _media(ctx, p, r.sdkfileid, r.md5sum, r.filesize, kind, None, "mp4", where)
    return r


def _card(ctx, p, top, where, kind, depth):
    return Card(_s(ctx, p, "corpname", where), _s(ctx, p, "userid", where))


def _location(ctx, p, top, where, kind, depth):
    return Location(_f(ctx, p, "longitude", where), _f(ctx, p, "latitude", where),
                    _s(ctx, p, "address", where), _s(ctx, p, "title", where), _i(ctx, p, "zoom", where))


_EMOTION_EXT = {1: "gif", 2: "png"}


def _emotion(ctx, p, top, where, kind, depth):
    r = Emotion(_i(ctx, p, "type", where), _i(ctx, p, "width", where), _i(ctx, p, "height", where),
                _i(ctx, p, "imagesize", where), _s(ctx, p, "sdkfileid", where, True),
                _s(ctx, p, "md5sum", where))
    _media(ctx, p, r.sdkfileid, r.md5sum, r.imagesize, kind, None, _EMOTION_EXT.get(r.type), where)
    return r


def _file(ctx, p, top, where, kind, depth):
    r = File(_s(ctx, p, "filename", where, True), _s(ctx, p, "fileext", where),
             _i(ctx, p, "filesize", where), _s(ctx, p, "sdkfileid", where, True),
             _s(ctx, p, "md5sum", where))
    ext = _clean_ext(r.fileext) or _ext_from_name(r.filename)
    _media(ctx, p, r.sdkfileid, r.md5sum, r.filesize, kind, r.filename or None, ext, where)
    return r


def _link(ctx, p, top, where, kind, depth):
    return Link(_s(ctx, p, "title", where), _s(ctx, p, "description", where),
                _s(ctx, p, "link_url", where), _s(ctx, p, "image_url", where))


def _weapp(ctx, p, top, where, kind, depth):
    return Weapp(_s(ctx, p, "title", where), _s(ctx, p, "description", where),
                 _s(ctx, p, "username", where), _s(ctx, p, "displayname", where))


def _chatrecord(ctx, p, top, where, kind, depth):
    items = []
    for i, it in _objects(ctx, p, "item", where):
        loc = f"{where}.item[{i}]"
        item_type = _s(ctx, it, "type", loc, True)
        msgtype, content = _inner(ctx, item_type, it.get("content", _MISSING), loc, depth + 1)
        items.append(ChatRecordItem(item_type, msgtype, _i(ctx, it, "msgtime", loc),
                                    _b(ctx, it, "from_chatroom", loc), content))
    return ChatRecord(_s(ctx, p, "title", where), tuple(items))


def _mixed(ctx, p, top, where, kind, depth):
    items = []
    for i, it in _objects(ctx, p, "item", where):
        loc = f"{where}.item[{i}]"
        item_type = _s(ctx, it, "type", loc, True)
        msgtype, content = _inner(ctx, item_type, it.get("content", _MISSING), loc, depth + 1)
        items.append(MixedItem(item_type, msgtype, content))
    return Mixed(tuple(items))


def _todo(ctx, p, top, where, kind, depth):
    return Todo(_s(ctx, p, "title", where), _s(ctx, p, "content", where))


def _vote(ctx, p, top, where, kind, depth):
    return Vote(_s(ctx, p, "votetitle", where), _sl(ctx, p, "voteitem", where),
                _i(ctx, p, "votetype", where), _s(ctx, p, "voteid", where))


def _collect(ctx, p, top, where, kind, depth):
    details = []
    for i, d in _objects(ctx, p, "details", where):
        loc = f"{_at(where, 'details')}[{i}]"
        details.append(CollectDetail(_i(ctx, d, "id", loc), _s(ctx, d, "ques", loc), _s(ctx, d, "type", loc)))
    return Collect(_s(ctx, p, "room_name", where), _s(ctx, p, "creator", where),
                   _s(ctx, p, "create_time", where), _s(ctx, p, "title", where), tuple(details))


def _redpacket(ctx, p, top, where, kind, depth):
    return RedPacket(_i(ctx, p, "type", where), _s(ctx, p, "wish", where),
                     _i(ctx, p, "totalcnt", where), _i(ctx, p, "totalamount", where))


def _meeting(ctx, p, top, where, kind, depth):
    return Meeting(_s(ctx, p, "topic", where), _i(ctx, p, "starttime", where), _i(ctx, p, "endtime", where),
                   _s(ctx, p, "address", where), _s(ctx, p, "remarks", where),
                   _i(ctx, p, "meetingtype", where), _i(ctx, p, "meetingid", where),
                   _i(ctx, p, "status", where))


def _docmsg(ctx, p, top, where, kind, depth):
    return DocMsg(_s(ctx, p, "title", where), _s(ctx, p, "link_url", where), _s(ctx, p, "doc_creator", where))


def _markdown(ctx, p, top, where, kind, depth):
    return Markdown(_s(ctx, p, "content", where, True))


def _news(ctx, p, top, where, kind, depth):
    items = []
    for i, it in _objects(ctx, p, "item", where):
        loc = f"{_at(where, 'item')}[{i}]"
        items.append(NewsItem(_s(ctx, it, "title", loc), _s(ctx, it, "description", loc),
                              _s(ctx, it, "url", loc), _s(ctx, it, "picurl", loc)))
    return News(tuple(items))


def _calendar(ctx, p, top, where, kind, depth):
    return Calendar(_s(ctx, p, "title", where), _s(ctx, p, "creatorname", where),
                    _sl(ctx, p, "attendeename", where), _i(ctx, p, "starttime", where),
                    _i(ctx, p, "endtime", where), _s(ctx, p, "place", where), _s(ctx, p, "remarks", where))


def _meeting_voice_call(ctx, p, top, where, kind, depth):
    demos = []
    for i, d in _objects(ctx, p, "demofiledata", where):
        loc = f"{_at(where, 'demofiledata')}[{i}]"
        demos.append(DemoFile(_s(ctx, d, "filename", loc), _s(ctx, d, "demooperator", loc),
                              _i(ctx, d, "starttime", loc), _i(ctx, d, "endtime", loc)))
    shares = []
    for i, d in _objects(ctx, p, "sharescreendata", where):
        loc = f"{_at(where, 'sharescreendata')}[{i}]"
        shares.append(ShareScreen(_s(ctx, d, "share", loc), _i(ctx, d, "starttime", loc),
                                  _i(ctx, d, "endtime", loc)))
    r = MeetingVoiceCall(_s(ctx, top, "voiceid", "" if top is not p else where), _i(ctx, p, "endtime", where),
                         _s(ctx, p, "sdkfileid", where, True), tuple(demos), tuple(shares))
    md5 = p.get("md5sum")
    _media(ctx, p, r.sdkfileid, md5 if type(md5) is str else "", None, kind, None, None, where)
    return r


def _voip_doc_share(ctx, p, top, where, kind, depth):
    r = VoipDocShare(_s(ctx, top, "voipid", "" if top is not p else where), _s(ctx, p, "filename", where),
                     _s(ctx, p, "md5sum", where), _i(ctx, p, "filesize", where),
                     _s(ctx, p, "sdkfileid", where, True))
    _media(ctx, p, r.sdkfileid, r.md5sum, r.filesize, kind, r.filename or None,
           _ext_from_name(r.filename), where)
    return r


def _sphfeed(ctx, p, top, where, kind, depth):
    return SphFeed(_i(ctx, p, "feed_type", where), _s(ctx, p, "sph_name", where), _s(ctx, p, "feed_desc", where))


def _voiptext(ctx, p, top, where, kind, depth):
    return VoipText(_i(ctx, p, "callduration", where), _i(ctx, p, "invitetype", where))


def _qydiskfile(ctx, p, top, where, kind, depth):
    return QyDiskFile(_s(ctx, p, "filename", where))


# msgtype → (payload key in the message, record class, parser). Key None: fields at the top level.
CATALOGUE: dict[str, tuple[str | None, type, Parser]] = {
    "text": ("text", Text, _text),
    "image": ("image", Image, _image),
    "revoke": ("revoke", Revoke, _revoke),
    "agree": ("agree", Agree, _agree),
    "disagree": ("disagree", Disagree, _disagree),
    "voice": ("voice", Voice, _voice),
    "video": ("video", Video, _video),
    "card": ("card", Card, _card),
    "location": ("location", Location, _location),
    "emotion": ("emotion", Emotion, _emotion),
    "file": ("file", File, _file),
    "link": ("link", Link, _link),
    "weapp": ("weapp", Weapp, _weapp),
    "chatrecord": ("chatrecord", ChatRecord, _chatrecord),
    "todo": ("todo", Todo, _todo),
    "vote": (None, Vote, _vote),
    "collect": ("collect", Collect, _collect),
    "redpacket": ("redpacket", RedPacket, _redpacket),
    "external_redpacket": ("redpacket", RedPacket, _redpacket),
    "meeting": ("meeting", Meeting, _meeting),
    "docmsg": ("doc", DocMsg, _docmsg),
    "markdown": ("info", Markdown, _markdown),
    "news": ("info", News, _news),
    "calendar": ("calendar", Calendar, _calendar),
    "mixed": ("mixed", Mixed, _mixed),
    "meeting_voice_call": ("meeting_voice_call", MeetingVoiceCall, _meeting_voice_call),
    "voip_doc_share": ("voip_doc_share", VoipDocShare, _voip_doc_share),
    "sphfeed": ("sphfeed", SphFeed, _sphfeed),
    "voiptext": ("info", VoipText, _voiptext),
    "qydiskfile": ("info", QyDiskFile, _qydiskfile),
}

# Types whose items carry their own path segment ("chatrecord.item[0].mixed.item[2]").
_CONTAINERS = frozenset({"chatrecord", "mixed"})


def inner_msgtype(item_type: str) -> str:
    """The catalogue msgtype of a chatrecord/mixed item type ("ChatRecordImage" → "image"); "" if none."""
    t = item_type.lower()
    if len(t) > 10 and t.startswith("chatrecord"):
        t = t[10:]
    return t if t in CATALOGUE else ""


def _inner(ctx: _Ctx, item_type: str, content: object, loc: str, depth: int) -> tuple[str, object]:
    """(msgtype, record) of a chatrecord/mixed item whose ``content`` should be a JSON string."""
    msgtype = inner_msgtype(item_type)
    label = msgtype or item_type
    if content is _MISSING:
        ctx.note(f"{loc}.content is missing")
        return msgtype, Unsupported(label, None)
    if depth > MAX_DEPTH:
        ctx.note(f"{loc}: nested deeper than {MAX_DEPTH} levels, not parsed")
        return msgtype, Unsupported(label, content)
    if type(content) is str:
        try:
            p = json.loads(content)
        except (ValueError, RecursionError):
            if msgtype == "text":
                ctx.note(f"{loc}.content is not JSON: taken as the text itself")
                return msgtype, Text(content)
            ctx.note(f"{loc}.content is not valid JSON")
            return msgtype, Unsupported(label, content)
    elif type(content) is dict:
        ctx.note(f"{loc}.content is an object, not a JSON string")
        p = content
    else:
        ctx.note(f"{loc}.content is {_kind(content)}, expected a JSON string")
        return msgtype, Unsupported(label, content)
    if type(p) is not dict:
        ctx.note(f"{loc}.content is JSON but not an object")
        return msgtype, Unsupported(label, p)
    if not msgtype:
        ctx.note(f"{loc}: unknown item type {clip(item_type, 40)!r}")
        return msgtype, Unsupported(item_type, p)
    parser = CATALOGUE[msgtype][2]
    where = f"{loc}.{msgtype}" if msgtype in _CONTAINERS else loc
    return msgtype, parser(ctx, p, p, where, item_type, depth)


def _payload(ctx: _Ctx, msg: dict, msgtype: str, key: str) -> tuple[object, str]:
    """The payload object of a top-level message and the key it was found under."""
    p = msg.get(key, _MISSING)
    if type(p) is dict:
        return p, key
    if key != msgtype and type(msg.get(msgtype)) is dict:
        ctx.note(f"{msgtype} payload found under {msgtype!r} instead of {key!r}")
        return msg[msgtype], msgtype
    if msgtype in ("agree", "disagree") and p is _MISSING and (
            "userid" in msg or f"{msgtype}_time" in msg):
        ctx.note(f"{msgtype} fields at the top level instead of under {key!r}")
        return msg, ""
    if p is _MISSING:
        ctx.note(f"{key} payload is missing")
        return None, key
    ctx.note(f"{key} payload is {_kind(p)}, expected an object")
    return p, key


_COMMON_KEYS = frozenset({"msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype"})


def _unknown_payload(msg: dict, msgtype: str) -> object:
    """What an unknown msgtype carries: the value under its name, else every non-common key.

    New types do not always follow the msgtype-named-key habit (several use "info", vote uses the top
    level); keeping the rest of the message makes them displayable and searchable.
    """
    if msgtype and msgtype in msg and msgtype not in _COMMON_KEYS:
        return msg[msgtype]
    rest = {k: v for k, v in msg.items() if k not in _COMMON_KEYS}
    return rest or None


def _read_json(raw: bytes | bytearray | memoryview | str, ctx: _Ctx) -> object:
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
        ctx.note("message starts with a byte order mark")
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
    ctx = _Ctx()
    msg = _read_json(raw, ctx)
    if type(msg) is not dict:
        raise MessageParseError(f"message JSON is {_kind(msg)}, expected an object")
    msgid = msg.get("msgid")
    if type(msgid) is not str or not msgid:
        raise MessageParseError("message has no msgid string")

    action = _s(ctx, msg, "action", "", True)
    recalled: str | None = None
    if action == "switch":
        sender = _s(ctx, msg, "user", "", True)
        if "time" not in msg and "msgtime" in msg:
            ctx.note("switch entry has msgtime instead of time")
            time = _i(ctx, msg, "msgtime", "")
        else:
            time = _i(ctx, msg, "time", "", True)
        msgtime = time if time is not None else 0
        tolist: tuple[str, ...] = ()
        roomid = ""
        msgtype = "switch"
        content: object = Switch(sender, time)
        supported = True
    else:
        sender = _s(ctx, msg, "from", "", True)
        tolist = _sl(ctx, msg, "tolist", "", True)
        roomid = _s(ctx, msg, "roomid", "")
        t = _i(ctx, msg, "msgtime", "", True)
        msgtime = t if t is not None else 0
        msgtype = _s(ctx, msg, "msgtype", "", True)
        spec = CATALOGUE.get(msgtype)
        if spec is None:
            content = Unsupported(msgtype, _unknown_payload(msg, msgtype))
            supported = False
        else:
            key, _cls, parser = spec
            if key is None:
                p, where = msg, ""
            else:
                p, where = _payload(ctx, msg, msgtype, key)
            if type(p) is dict:
                content = parser(ctx, p, msg, where, msgtype, 0)
                supported = True
            else:
                content = Unsupported(msgtype, p)
                supported = False
        if type(content) is Revoke:
            recalled = content.pre_msgid or None
            if action != "recall":
                ctx.note(f"revoke message with action {clip(action, 20)!r}, expected 'recall'")
        elif action == "recall":
            ctx.note(f"recall entry with msgtype {clip(msgtype, 40)!r}, expected 'revoke'")

    session_id, session_type, notes = session_and_notes(sender, tolist, roomid, msgid, action)
    for n in notes:
        ctx.note(n)
    summary_zh, summary_en = summarize(msgtype, content)
    texts: list[str] = []
    collect_search_text(content, texts)
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
        media=tuple(ctx.media),
        recalled_msgid=recalled,
        supported=supported,
        problems=tuple(ctx.problems),
    )
