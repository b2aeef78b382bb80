"""Self-contained HTML transcripts, one per conversation: no scripts, no remote resources, a strict
CSP, and every piece of text from the archive passed through html.escape — after
app.core.safe_text made its deceptive characters visible (ids, names and file names strictly, in
``<bdi>`` so that right-to-left names cannot reorder what follows; message text keeping its line
breaks and emoji).

Attachments are linked only when their extension gives browsers a fixed type they do not run
(images, audio/video, PDF, archives, Office files: :data:`LINKABLE_EXTS`). Anything else — .html,
.svg, .xml, .js, .mht and every type a browser would sniff the content of — is shown as a text
reference to its file in the package, never as a live link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import TextIO

from app.core.safe_text import display_name, display_text

CSP = "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
# Opened from a file: URL, a browser takes the type from the extension; these map to types it shows
# as media, hands to a viewer or downloads. An unknown extension is content-sniffed (HTML inside a
# ".amr" would render and, without this page's CSP, run); .html/.svg/.xml/.js/.mht run scripts.
LINKABLE_EXTS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp", "mp4", "mov", "m4a", "mp3", "wav", "pdf",
                           "zip", "rar", "7z", "gz", "doc", "docx", "xls", "xlsx", "ppt", "pptx"})
_ESCAPED = re.compile(r"⟨U\+[0-9A-F]{4,6}⟩")

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
h1{font-size:1.3em} .meta{color:#555;font-size:.9em}
.msg{border-top:1px solid #ddd;padding:.5em 0} .hdr{color:#555;font-size:.85em}
.hit{background:#fff8d0;border-left:4px solid #e0a800;padding-left:.5em}
.badge{font-size:.8em;border:1px solid #999;border-radius:3px;padding:0 .3em;margin-left:.4em}
.recalled .badge.r{border-color:#c00;color:#c00} .text{white-space:pre-wrap;margin:.3em 0}
mark{background:#ffd54a} .gap{color:#888;text-align:center;margin:1em 0} img{max-width:320px;max-height:240px}
.id{color:#777;font-size:.8em;font-weight:normal} .now{color:#8a5a00;font-size:.8em}
table.index{border-collapse:collapse} table.index td,table.index th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}
.esc{color:#b00020;background:#fde7ea;border-radius:2px;font-family:monospace;font-size:.85em}
.review{border-left:4px solid #1a73e8;background:#eef4fd;padding:.3em .6em;margin:.4em 0;font-size:.85em}
.review .t{color:#1a73e8;font-weight:bold} .review div{white-space:pre-wrap}
"""
REVIEW_HEADING = "审阅 Review (审阅人的批注，非消息内容 reviewers' annotations, not part of the message)"


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _marked(escaped: str) -> str:
    """Escapes made by safe_text, set off so that a reader sees them as such."""
    return _ESCAPED.sub(lambda m: f'<span class="esc">{m.group()}</span>', escaped)


def name(value: object) -> str:
    """An id, a name or a file name for the page: neutralised, escaped, isolated."""
    if isinstance(value, str):
        return _name(value)
    return f"<bdi>{_marked(e(display_name(value)))}</bdi>"


@lru_cache(maxsize=8192)
def _name(value: str) -> str:
    # the same ids and names come back on every message of a transcript (a tenth of an export's time)
    return f"<bdi>{_marked(e(display_name(value)))}</bdi>"


def text(value: object) -> str:
    """Message text for the page: neutralised (line breaks kept) and escaped."""
    return _marked(e(display_text(value)))


def person(label: str, ident: str, note: str = "") -> str:
    """A person or room for the page: the name in bold with the id beside it in small type (the id
    alone when no name is known), and ``note`` (today's name where it changed, a corp tag) after it."""
    shown = (f"<b>{name(label)}</b> <span class=\"id\">{name(ident)}</span>" if label and label != ident
             else f"<b>{name(ident)}</b>")
    return shown + (f" <span class=\"now\">{name(note)}</span>" if note else "")


def linkable(href: str) -> bool:
    """Whether a file of the package may be linked as a live document (see LINKABLE_EXTS)."""
    return href.rsplit("/", 1)[-1].rpartition(".")[2].lower() in LINKABLE_EXTS


@dataclass(frozen=True)
class MediaLink:
    href: str  # relative, made by us from a hash ("../media/<sha256>.<ext>")
    kind: str
    label: str  # the original file name or kind (escaped when written)
    is_image: bool


def highlighted(value: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``value`` neutralised and escaped, with the (start, end) spans (offsets into ``value``) wrapped
    in <mark>."""
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(value))
        if start >= end:
            continue
        out.append(text(value[pos:start]))
        out.append(f"<mark>{text(value[start:end])}</mark>")
        pos = end
    out.append(text(value[pos:]))
    return "".join(out)


_text = text  # (``message`` has a parameter named text)


def _review_box(lines) -> str:
    return (f"<div class=\"review\"><span class=\"t\">{e(REVIEW_HEADING)}</span>"
            + "".join(f"<div>{_text(line)}</div>" for line in lines) + "</div>")


class TranscriptWriter:
    """Writes one conversation's transcript as messages come (a header, the messages, a footer)."""

    def __init__(self, f: TextIO, *, session_id: str, session_type: str, participants: tuple[str, ...],
                 roomid: str, zone_note: str, selection_note: str, fingerprint: str = "", title: str = "",
                 room_name: str = "", participant_names: tuple[str, ...] = ()):
        """``title``: the conversation by names (the group's name, or its people's); ``room_name`` the
        group's name; ``participant_names`` aligned with ``participants`` ("" where unknown)."""
        self.f = f
        self.count = 0
        heading = f"会话记录 Transcript {display_name(title or session_id)}"
        names = participant_names or ("",) * len(participants)
        f.write("<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
                "<meta name=\"referrer\" content=\"no-referrer\">\n"
                f"<title>{e(heading)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
                f"<h1>会话记录 Transcript {name(title or session_id)}</h1>\n<div class=\"meta\">"
                + (f"<div>会话 Conversation: <code>{name(session_id)}</code></div>" if title else "")
                + f"<div>类型 Type: {name(session_type)}</div>"
                + (f"<div>群 Room: {person(room_name, roomid)}</div>" if roomid else "")
                + f"<div>参与者 Participants: {', '.join(person(n, p) for n, p in zip(names, participants, strict=False))}</div>"
                f"<div>时区 Times: {e(zone_note)}</div><div>选择 Selection: {name(selection_note)}</div>"
                f"<div>包指纹 Package fingerprint (SHA-256): <code>{e(fingerprint)}</code></div></div>\n")
        self.fingerprint = fingerprint

    def session_review(self, lines: list[str]) -> None:
        """The conversation's own review (app/core/review/evidence.py), set apart under the header."""
        if lines:
            self.f.write(_review_box(lines) + "\n")

    def gap(self) -> None:
        """Marks messages of the conversation left out between two exported windows."""
        self.f.write("<div class=\"gap\">⋯ 未导出的消息 messages not exported ⋯</div>\n")

    def message(self, *, msgid: str, seq: int, time: str, sender: str, recipients: tuple[str, ...],
                msgtype: str, summary: str, text: str, recalled_at: str | None, hit: bool,
                hit_spans: tuple[tuple[int, int], ...] = (), media: list[MediaLink] = (),
                native_href: str = "", sender_name: str = "", sender_note: str = "",
                recipient_names: tuple[str, ...] = (), review: tuple[str, ...] | list[str] = ()) -> None:
        """``sender_name``: the sender's name at the message's time ("" unknown), shown with the id
        beside it; ``sender_note``: e.g. today's name where it changed, a corp tag;
        ``recipient_names`` aligned with ``recipients``; ``review``: reviewers' annotations, shown
        in a box of their own after the message."""
        body_text = text
        classes = "msg" + (" hit" if hit else "") + (" recalled" if recalled_at else "")
        badges = f"<span class=\"badge\">{name(msgtype)}</span>"
        if hit:
            badges += "<span class=\"badge h\">命中 hit</span>"
        if recalled_at:
            badges += f"<span class=\"badge r\">已撤回 recalled {e(recalled_at)}</span>"
        body = "" if (hit_spans and body_text == summary) else f"<div class=\"text\">{_text(summary)}</div>"
        if body_text and (body_text != summary or hit_spans):
            shown = highlighted(body_text, hit_spans) if hit_spans else _text(body_text)
            body += f"<div class=\"text\">{shown}</div>"
        for m in media:
            label = f"{name(m.label)} ({name(m.kind)})"
            if not m.href:
                body += f"<div>📎 {label} — 未存档 not stored</div>"
            elif m.is_image and linkable(m.href):
                body += (f"<div><a href=\"{e(m.href)}\"><img src=\"{e(m.href)}\" "
                         f"alt=\"{e(display_name(m.label))}\"></a></div>")
            elif linkable(m.href):
                body += f"<div>📎 <a href=\"{e(m.href)}\">{name(m.label)}</a> ({name(m.kind)})</div>"
            else:  # a type a browser could run or sniff: a reference to the file, not a link
                body += (f"<div>📎 {label} — <code>data/{e(m.href.removeprefix('../'))}</code> 未链接 not linked: "
                         "浏览器可能执行此类文件 a browser could run this type of file; open it with a "
                         "suitable program</div>")
        self.f.write(
            f"<div class=\"{classes}\" id=\"m{seq}\"><div class=\"hdr\">{e(time)} · "
            f"{person(sender_name, sender, sender_note)} → "
            f"{', '.join(person(n, r) for n, r in zip(recipient_names or ('',) * len(recipients), recipients, strict=False))}"
            f"{badges}"
            f" · seq {e(seq)} · <a href=\"{e(native_href)}\">JSON</a> · <code>{name(msgid)}</code></div>"
            f"{body}{_review_box(review) if review else ''}</div>\n")
        self.count += 1

    def close(self) -> None:
        self.f.write(f"<p class=\"meta\">{self.count} 条消息 messages · 包指纹 Package fingerprint "
                     f"<code>{e(self.fingerprint)}</code></p>\n</body>\n</html>\n")


@dataclass(frozen=True)
class IndexEntry:
    """One conversation of the package for the index page."""

    title: str
    session_id: str
    session_type: str
    messages: int
    first: str
    last: str
    html: str  # relative links, made by us
    pdfs: tuple[str, ...] = ()


def write_index(f: TextIO, entries: list[IndexEntry], *, zone_note: str, selection_note: str, fingerprint: str,
                directory_note: str) -> None:
    """``data/transcripts/index.html``: every conversation of the package by name, linking its
    transcripts (whose file names stay ids)."""
    f.write("<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            f"<title>会话索引 Conversations</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            "<h1>会话索引 Conversations</h1>\n<div class=\"meta\">"
            f"<div>时区 Times: {e(zone_note)}</div><div>选择 Selection: {name(selection_note)}</div>"
            f"<div>姓名 Names: {e(directory_note)}</div>"
            f"<div>包指纹 Package fingerprint (SHA-256): <code>{e(fingerprint)}</code></div></div>\n"
            "<table class=\"index\"><tr><th>会话 Conversation</th><th>类型 Type</th><th>消息 Messages</th>"
            "<th>时间 Time range</th><th>记录 Transcripts</th></tr>\n")
    for x in sorted(entries, key=lambda x: (x.title.casefold(), x.session_id)):
        links = f"<a href=\"{e(x.html)}\">HTML</a>" + "".join(
            f" · <a href=\"{e(p)}\">PDF{'' if i == 0 else f' {i + 1}'}</a>" for i, p in enumerate(x.pdfs))
        f.write(f"<tr><td>{name(x.title)}<br><span class=\"id\">{name(x.session_id)}</span></td>"
                f"<td>{name(x.session_type)}</td><td>{e(x.messages)}</td><td>{e(x.first)} – {e(x.last)}</td>"
                f"<td>{links}</td></tr>\n")
    f.write(f"</table>\n<p class=\"meta\">{len(entries)} 个会话 conversations · 包指纹 Package fingerprint "
            f"<code>{e(fingerprint)}</code></p>\n</body>\n</html>\n")
