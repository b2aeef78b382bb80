"""Self-contained HTML transcripts, one per conversation: no scripts, no remote resources, a strict
CSP, and every piece of text from the archive passed through html.escape."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TextIO

CSP = "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'"

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
h1{font-size:1.3em} .meta{color:#555;font-size:.9em}
.msg{border-top:1px solid #ddd;padding:.5em 0} .hdr{color:#555;font-size:.85em}
.hit{background:#fff8d0;border-left:4px solid #e0a800;padding-left:.5em}
.badge{font-size:.8em;border:1px solid #999;border-radius:3px;padding:0 .3em;margin-left:.4em}
.recalled .badge.r{border-color:#c00;color:#c00} .text{white-space:pre-wrap;margin:.3em 0}
mark{background:#ffd54a} .gap{color:#888;text-align:center;margin:1em 0} img{max-width:320px;max-height:240px}
"""


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class MediaLink:
    href: str  # relative, made by us from a hash ("../media/<sha256>.<ext>")
    kind: str
    label: str  # the original file name or kind (escaped when written)
    is_image: bool


def highlighted(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``text`` escaped, with the (start, end) spans wrapped in <mark>."""
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(e(text[pos:start]))
        out.append(f"<mark>{e(text[start:end])}</mark>")
        pos = end
    out.append(e(text[pos:]))
    return "".join(out)


class TranscriptWriter:
    """Writes one conversation's transcript as messages come (a header, the messages, a footer)."""

    def __init__(self, f: TextIO, *, session_id: str, session_type: str, participants: tuple[str, ...],
                 roomid: str, zone_note: str, selection_note: str, fingerprint: str = ""):
        self.f = f
        self.count = 0
        title = f"会话记录 Transcript {session_id}"
        f.write("<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
                "<meta name=\"referrer\" content=\"no-referrer\">\n"
                f"<title>{e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
                f"<h1>{e(title)}</h1>\n<div class=\"meta\">"
                f"<div>类型 Type: {e(session_type)}</div>"
                + (f"<div>群 Room: {e(roomid)}</div>" if roomid else "")
                + f"<div>参与者 Participants: {e(', '.join(participants))}</div>"
                f"<div>时区 Times: {e(zone_note)}</div><div>选择 Selection: {e(selection_note)}</div>"
                f"<div>包指纹 Package fingerprint (SHA-256): <code>{e(fingerprint)}</code></div></div>\n")
        self.fingerprint = fingerprint

    def gap(self) -> None:
        """Marks messages of the conversation left out between two exported windows."""
        self.f.write("<div class=\"gap\">⋯ 未导出的消息 messages not exported ⋯</div>\n")

    def message(self, *, msgid: str, seq: int, time: str, sender: str, recipients: tuple[str, ...],
                msgtype: str, summary: str, text: str, recalled_at: str | None, hit: bool,
                hit_spans: tuple[tuple[int, int], ...] = (), media: list[MediaLink] = (),
                native_href: str = "") -> None:
        classes = "msg" + (" hit" if hit else "") + (" recalled" if recalled_at else "")
        badges = f"<span class=\"badge\">{e(msgtype)}</span>"
        if hit:
            badges += "<span class=\"badge h\">命中 hit</span>"
        if recalled_at:
            badges += f"<span class=\"badge r\">已撤回 recalled {e(recalled_at)}</span>"
        body = "" if (hit_spans and text == summary) else f"<div class=\"text\">{e(summary)}</div>"
        if text and (text != summary or hit_spans):
            shown = highlighted(text, hit_spans) if hit_spans else e(text)
            body += f"<div class=\"text\">{shown}</div>"
        for m in media:
            if not m.href:
                body += f"<div>📎 {e(m.label)} ({e(m.kind)}) — 未存档 not stored</div>"
            elif m.is_image:
                body += (f"<div><a href=\"{e(m.href)}\"><img src=\"{e(m.href)}\" alt=\"{e(m.label)}\"></a></div>")
            else:
                body += f"<div>📎 <a href=\"{e(m.href)}\">{e(m.label)}</a> ({e(m.kind)})</div>"
        self.f.write(
            f"<div class=\"{classes}\" id=\"m{seq}\"><div class=\"hdr\">{e(time)} · "
            f"<b>{e(sender)}</b> → {e(', '.join(recipients))}{badges}"
            f" · seq {e(seq)} · <a href=\"{e(native_href)}\">JSON</a> · <code>{e(msgid)}</code></div>"
            f"{body}</div>\n")
        self.count += 1

    def close(self) -> None:
        self.f.write(f"<p class=\"meta\">{self.count} 条消息 messages · 包指纹 Package fingerprint "
                     f"<code>{e(self.fingerprint)}</code></p>\n</body>\n</html>\n")
