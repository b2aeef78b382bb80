"""One-line summaries (Chinese and English) and the searchable text of parsed records.

Summaries are for lists: "[label] most useful field", text clipped to ~60 chars with "…" and line
breaks turned into spaces. Search text is what a reviewer may search for: human-written text, titles
and file names, never ids, URLs, md5s or sdkfileids.
"""

from __future__ import annotations

from collections.abc import Callable

from .records import (
    Agree,
    Calendar,
    Card,
    ChatRecord,
    Collect,
    Disagree,
    DocMsg,
    Emotion,
    File,
    Image,
    Link,
    Location,
    Markdown,
    Meeting,
    MeetingVoiceCall,
    Mixed,
    News,
    QyDiskFile,
    RedPacket,
    Revoke,
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

SUMMARY_CHARS = 60

# msgtype → (Chinese label, English label), as shown in brackets.
LABELS: dict[str, tuple[str, str]] = {
    "text": ("文本", "Text"),
    "image": ("图片", "Image"),
    "revoke": ("撤回", "Recalled"),
    "agree": ("同意存档", "Consented to archiving"),
    "disagree": ("拒绝存档", "Declined archiving"),
    "voice": ("语音", "Voice"),
    "video": ("视频", "Video"),
    "card": ("名片", "Contact card"),
    "location": ("位置", "Location"),
    "emotion": ("表情", "Sticker"),
    "file": ("文件", "File"),
    "link": ("链接", "Link"),
    "weapp": ("小程序", "Mini program"),
    "chatrecord": ("聊天记录", "Chat history"),
    "todo": ("待办", "To-do"),
    "vote": ("投票", "Vote"),
    "collect": ("填表", "Form"),
    "redpacket": ("红包", "Red packet"),
    "external_redpacket": ("互通红包", "External red packet"),
    "meeting": ("会议", "Meeting"),
    "docmsg": ("在线文档", "Document"),
    "markdown": ("Markdown", "Markdown"),
    "news": ("图文", "News"),
    "calendar": ("日程", "Calendar"),
    "mixed": ("图文混排", "Mixed"),
    "meeting_voice_call": ("音频存档", "Call recording"),
    "voip_doc_share": ("音频共享文档", "Document shared in call"),
    "sphfeed": ("视频号", "Channels post"),
    "voiptext": ("音视频通话", "Call"),
    "qydiskfile": ("微盘文件", "WeDrive file"),
    "switch": ("切换企业", "Switched enterprise"),
}

_LINE_BREAKS = str.maketrans({c: " " for c in "\n\r\t\v\f\x85\u2028\u2029"})


def clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, at most ``limit`` chars plus "…" when cut. Cheap on huge strings."""
    text = text.lstrip()
    cut = len(text) > 2 * limit
    text = text[: 2 * limit].translate(_LINE_BREAKS).strip()
    if cut or len(text) > limit:
        return text[:limit].rstrip() + "…"
    return text


def _label(msgtype: str, detail: str = "") -> tuple[str, str]:
    zh, en = LABELS[msgtype]
    if detail:
        detail = clip(detail)
        return f"[{zh}] {detail}", f"[{en}] {detail}"
    return f"[{zh}]", f"[{en}]"


def _duration(seconds: int | None) -> tuple[str, str]:
    if seconds is None or seconds < 0:
        return "", ""
    if seconds < 60:
        return f"{seconds}秒", f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}分{sec}秒", f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}小时{minutes}分", f"{hours}h{minutes:02d}m"


def _with_duration(msgtype: str, seconds: int | None) -> tuple[str, str]:
    zh_label, en_label = LABELS[msgtype]
    zh, en = _duration(seconds)
    if not zh:
        return f"[{zh_label}]", f"[{en_label}]"
    return f"[{zh_label}] {zh}", f"[{en_label}] {en}"


def unsupported_summary(msgtype: str) -> tuple[str, str]:
    """Summary of an Unsupported record: known types say so, unknown ones name their type."""
    if msgtype in LABELS:
        zh, en = LABELS[msgtype]
        return f"[{zh}] (无法解析)", f"[{en}] (unreadable)"
    shown = clip(msgtype, 40) or "?"
    return f"[不支持的消息类型: {shown}]", f"[Unsupported message type: {shown}]"


def _sum_text(r: Text, _t: str) -> tuple[str, str]:
    s = clip(r.content)
    return (s, s) if s else _label("text")


def _sum_markdown(r: Markdown, _t: str) -> tuple[str, str]:
    return _label("markdown", r.content)


def _sum_mixed(r: Mixed, _t: str) -> tuple[str, str]:
    zh_parts: list[str] = []
    en_parts: list[str] = []
    length = 0
    for item in r.item:
        zh, en = summarize(item.msgtype, item.content)
        zh_parts.append(zh)
        en_parts.append(en)
        length += len(zh)
        if length > 2 * SUMMARY_CHARS:
            break
    zh, en = clip(" ".join(zh_parts)), clip(" ".join(en_parts))
    return (zh, en) if zh else _label("mixed")


def _sum_redpacket(r: RedPacket, msgtype: str) -> tuple[str, str]:
    return _label("external_redpacket" if msgtype == "external_redpacket" else "redpacket", r.wish)


def _sum_weapp(r: Weapp, _t: str) -> tuple[str, str]:
    return _label("weapp", r.title or r.displayname)


def _sum_location(r: Location, _t: str) -> tuple[str, str]:
    return _label("location", r.title or r.address)


def _sum_news(r: News, _t: str) -> tuple[str, str]:
    return _label("news", r.item[0].title if r.item else "")


_SUMMARIES: dict[type, Callable[..., tuple[str, str]]] = {
    Text: _sum_text,
    Image: lambda r, t: _label("image"),
    Revoke: lambda r, t: _label("revoke"),
    Agree: lambda r, t: _label("agree"),
    Disagree: lambda r, t: _label("disagree"),
    Voice: lambda r, t: _with_duration("voice", r.play_length),
    Video: lambda r, t: _with_duration("video", r.play_length),
    Card: lambda r, t: _label("card", r.corpname),
    Location: _sum_location,
    Emotion: lambda r, t: _label("emotion"),
    File: lambda r, t: _label("file", r.filename),
    Link: lambda r, t: _label("link", r.title),
    Weapp: _sum_weapp,
    ChatRecord: lambda r, t: _label("chatrecord", r.title),
    Todo: lambda r, t: _label("todo", r.title),
    Vote: lambda r, t: _label("vote", r.votetitle),
    Collect: lambda r, t: _label("collect", r.title),
    RedPacket: _sum_redpacket,
    Meeting: lambda r, t: _label("meeting", r.topic),
    DocMsg: lambda r, t: _label("docmsg", r.title),
    Markdown: _sum_markdown,
    News: _sum_news,
    Calendar: lambda r, t: _label("calendar", r.title),
    Mixed: _sum_mixed,
    MeetingVoiceCall: lambda r, t: _label("meeting_voice_call"),
    VoipDocShare: lambda r, t: _label("voip_doc_share", r.filename),
    SphFeed: lambda r, t: _label("sphfeed", r.sph_name),
    VoipText: lambda r, t: _with_duration("voiptext", r.callduration),
    QyDiskFile: lambda r, t: _label("qydiskfile", r.filename),
    Switch: lambda r, t: _label("switch"),
}


def summarize(msgtype: str, record: object) -> tuple[str, str]:
    """(summary_zh, summary_en) of a parsed record; ``msgtype`` tells redpacket kinds apart."""
    if type(record) is Unsupported:
        return unsupported_summary(record.msgtype)
    fn = _SUMMARIES.get(type(record))
    if fn is None:  # not a record of ours: say so rather than guess
        return unsupported_summary(msgtype)
    return fn(record, msgtype)


# Keys whose string values are worth searching inside payloads we do not understand.
_HARVEST_KEYS = frozenset({
    "content", "title", "description", "desc", "text", "filename", "name", "wish", "topic",
    "address", "remarks", "place", "ques", "feed_desc", "sph_name", "votetitle", "corpname",
    "displayname",
})
_HARVEST_DEPTH = 6
_HARVEST_MAX = 200


def _harvest(value: object, out: list[str], depth: int = 0) -> None:
    if depth > _HARVEST_DEPTH or len(out) >= _HARVEST_MAX:
        return
    if type(value) is dict:
        for k, v in value.items():
            if type(v) is str:
                if k in _HARVEST_KEYS:
                    out.append(v)
            elif type(v) in (dict, list):
                _harvest(v, out, depth + 1)
    elif type(value) is list:
        for v in value:
            if type(v) in (dict, list):
                _harvest(v, out, depth + 1)
            if len(out) >= _HARVEST_MAX:
                return


def _search_chatrecord(r: ChatRecord, out: list[str]) -> None:
    out.append(r.title)
    for item in r.item:
        collect_search_text(item.content, out)


def _search_mixed(r: Mixed, out: list[str]) -> None:
    for item in r.item:
        collect_search_text(item.content, out)


def _search_news(r: News, out: list[str]) -> None:
    for item in r.item:
        out.append(item.title)
        out.append(item.description)


def _search_collect(r: Collect, out: list[str]) -> None:
    out.append(r.title)
    out.append(r.room_name)
    out.extend(d.ques for d in r.details)


_SEARCH: dict[type, Callable[[object, list[str]], None]] = {
    Text: lambda r, out: out.append(r.content),
    Markdown: lambda r, out: out.append(r.content),
    Link: lambda r, out: out.extend((r.title, r.description)),
    File: lambda r, out: out.append(r.filename),
    VoipDocShare: lambda r, out: out.append(r.filename),
    QyDiskFile: lambda r, out: out.append(r.filename),
    MeetingVoiceCall: lambda r, out: out.extend(d.filename for d in r.demofiledata),
    Card: lambda r, out: out.append(r.corpname),
    Location: lambda r, out: out.extend((r.address, r.title)),
    Meeting: lambda r, out: out.extend((r.topic, r.address, r.remarks)),
    Calendar: lambda r, out: out.extend((r.title, r.place, r.remarks)),
    Todo: lambda r, out: out.extend((r.title, r.content)),
    Vote: lambda r, out: (out.append(r.votetitle), out.extend(r.voteitem)),
    Collect: _search_collect,
    News: _search_news,
    Weapp: lambda r, out: out.extend((r.title, r.description, r.displayname)),
    DocMsg: lambda r, out: out.append(r.title),
    SphFeed: lambda r, out: out.extend((r.sph_name, r.feed_desc)),
    RedPacket: lambda r, out: out.append(r.wish),
    ChatRecord: _search_chatrecord,
    Mixed: _search_mixed,
}


def collect_search_text(record: object, out: list[str]) -> None:
    """Append the searchable strings of ``record`` (recursively for chatrecord/mixed) to ``out``.

    Unsupported payloads are searched on a best-effort basis: string values under text-like keys
    ("content", "title", "filename", ...), bounded in depth and count.
    """
    if type(record) is Unsupported:
        _harvest(record.payload, out)
        return
    fn = _SEARCH.get(type(record))
    if fn is not None:
        fn(record, out)


def search_text_of(record: object) -> str:
    """The "\\n"-joined searchable text of a record; "" when it has none."""
    out: list[str] = []
    collect_search_text(record, out)
    return "\n".join(s for s in out if s)
