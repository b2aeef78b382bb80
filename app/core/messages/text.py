"""One-line summaries (Chinese and English) and the searchable text of parsed records.

Summaries are for lists: "[label] most useful field", text clipped to ~60 chars with "…" and line
breaks turned into spaces. Search text is what a reviewer may search for: human-written text, titles
and file names, never ids, URLs, md5s or sdkfileids. What each msgtype contributes is declared with
it in ``catalogue.py`` (``detail``/``summary``, ``search``); this module applies the declarations.
"""

from __future__ import annotations

from .records import Unsupported
from .registry import LABELS, MsgType, for_record, spec_of

SUMMARY_CHARS = 60

_LINE_BREAKS = str.maketrans({c: " " for c in "\n\r\t\v\f\x85\u2028\u2029"})


def clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, at most ``limit`` chars plus "…" when cut. Cheap on huge strings."""
    text = text.lstrip()
    cut = len(text) > 2 * limit
    text = text[: 2 * limit].translate(_LINE_BREAKS).strip()
    if cut or len(text) > limit:
        return text[:limit].rstrip() + "…"
    return text


# --- summaries -----------------------------------------------------------------------------------

def labelled(spec: MsgType, detail: str = "") -> tuple[str, str]:
    """("[图片] detail", "[Image] detail"): the msgtype's labels and a clipped detail, if any."""
    if detail:
        detail = clip(detail)
        return f"[{spec.zh}] {detail}", f"[{spec.en}] {detail}"
    return f"[{spec.zh}]", f"[{spec.en}]"


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


def with_duration(spec: MsgType, seconds: int | None) -> tuple[str, str]:
    """("[语音] 1分5秒", "[Voice] 1m05s"); the bare labels when the duration is unknown."""
    zh, en = _duration(seconds)
    if not zh:
        return f"[{spec.zh}]", f"[{spec.en}]"
    return f"[{spec.zh}] {zh}", f"[{spec.en}] {en}"


def text_or_label(text: str, spec: MsgType) -> tuple[str, str]:
    """The clipped text itself (same in both languages), or the bare labels when it is empty."""
    s = clip(text)
    return (s, s) if s else labelled(spec)


def unsupported_summary(msgtype: str) -> tuple[str, str]:
    """Summary of an Unsupported record: known types say so, unknown ones name their type."""
    if msgtype in LABELS:
        zh, en = LABELS[msgtype]
        return f"[{zh}] (无法解析)", f"[{en}] (unreadable)"
    shown = clip(msgtype, 40) or "?"
    return f"[不支持的消息类型: {shown}]", f"[Unsupported message type: {shown}]"


def summary_by(spec: MsgType, record: object) -> tuple[str, str]:
    """The summary ``spec`` declares for ``record`` (a record of its class)."""
    if spec.summary is not None:
        return spec.summary(record, spec)
    if spec.detail is not None:
        return labelled(spec, spec.detail(record))
    return f"[{spec.zh}]", f"[{spec.en}]"


def summarize(msgtype: str, record: object) -> tuple[str, str]:
    """(summary_zh, summary_en) of a parsed record; ``msgtype`` tells redpacket kinds apart."""
    if type(record) is Unsupported:
        return unsupported_summary(record.msgtype)
    spec = spec_of(msgtype, record)
    if spec is None:  # not a record of ours: say so rather than guess
        return unsupported_summary(msgtype)
    return summary_by(spec, record)


# --- search text ---------------------------------------------------------------------------------

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


def collect_search_text(record: object, out: list[str]) -> None:
    """Append the searchable strings of ``record`` (recursively for chatrecord/mixed) to ``out``.

    Unsupported payloads are searched on a best-effort basis: string values under text-like keys
    ("content", "title", "filename", ...), bounded in depth and count.
    """
    if type(record) is Unsupported:
        _harvest(record.payload, out)
        return
    spec = for_record(record)
    if spec is not None and spec.search is not None:
        out.extend(spec.search(record))


def search_texts(record: object) -> list[str]:
    """The searchable strings of ``record`` as a list (for a container's ``search``)."""
    out: list[str] = []
    collect_search_text(record, out)
    return out


def search_text_of(record: object) -> str:
    """The "\\n"-joined searchable text of a record; "" when it has none."""
    out: list[str] = []
    collect_search_text(record, out)
    return "\n".join(s for s in out if s)
