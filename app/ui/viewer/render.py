"""ParsedMessage → display blocks: what a message shows, independent of where it is drawn.

Each record class is drawn by one ``@renders(Record)`` function (the Qt side of the msgtype registry
in app/core/messages); ``MessageRenderer`` finds it by the record's class. The delegate lays the
blocks out and paints them.
Everything here is plain text: no string from a message is ever interpreted as markup, a URL is
shown as text and never opened, a file name is data and never a path. Every block neutralises what
it holds when it is made (app.core.safe_text): bidi controls, invisible characters and terminal
controls show as ``⟨U+202E⟩``; names and file names on one line, text with its line breaks.

Block kinds:
    TextBlock     a paragraph (body text, a title, a muted note, a warning)
    CardBlock     a labelled card: kind label, title, lines, footer (links, meetings, votes...)
    MediaBlock    a media object: thumbnail or icon, name, size or duration, status, actions
    QuoteBlock    one forwarded item of a chat record: a header line and nested blocks
    ToggleBlock   "Show all 12 items" / "Collapse" for chatrecord and mixed
    SystemBlock   a centred grey line (recall entries, consent, enterprise switches)
    UnsupportedBlock  "[Unsupported message type: x]" with "Show raw JSON"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDateTime, QLocale, QTimeZone

from app.core.archive import MediaRow, MessageRow
from app.core.messages import ParsedMessage, Unsupported, label_of, payload_key, summarize
from app.core.messages.catalogue import (
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
    Video,
    Voice,
    VoipDocShare,
    VoipText,
    Vote,
    Weapp,
)
from app.core.safe_text import display_name, display_text
from app.ui.language import pick, ui_is_chinese

translate = QCoreApplication.translate

# A text message can be a whole novel; the bubble shows this much and the details dialog the rest.
MAX_TEXT_CHARS = 4000
COLLAPSED_CHATRECORD_ITEMS = 3
COLLAPSED_MIXED_ITEMS = 2
THUMBNAIL_SIDE = 240
STICKER_SIDE = 120
# Opening these with the desktop's default application would run them: offer "Save as…" only.
EXECUTABLE_EXTS = frozenset({
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "ps1", "psm1", "vbs", "vbe", "js", "jse",
    "wsf", "wsh", "hta", "cpl", "lnk", "reg", "jar", "sh", "bash", "command", "app", "dmg", "pkg",
    "desktop", "appimage", "run", "py", "pyw", "pl", "rb", "url", "scf", "inf", "gadget", "msc",
})
# Opened from a temporary file, the default browser would run their scripts.
BROWSER_RUN_EXTS = frozenset({"html", "htm", "xhtml", "xht", "shtml", "svg", "svgz", "mht", "mhtml", "xml", "xsl"})


# Qt takes times and sizes as 64-bit integers; JSON numbers have no limit, and a message's own
# values (a meeting's start, a file's size) are shown from its JSON: beyond these they show as unknown.
_QINT64 = 2**63 - 1


def local_datetime(ms: int) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(int(ms))


def format_time(ms: int | None, fmt: str = "HH:mm") -> str:
    if ms is None or not -_QINT64 <= ms <= _QINT64:
        return ""
    return local_datetime(ms).toString(fmt)


def zone_label(ms: int) -> str:
    """The local time zone at ``ms`` as its offset, "UTC+08:00" ("UTC" at zero): what the chat's times
    are in (an abbreviation such as CST names several zones)."""
    if not -_QINT64 <= ms <= _QINT64:
        return ""
    offset = local_datetime(ms).offsetFromUtc()
    if offset == 0:
        return "UTC"
    sign, offset = ("+" if offset > 0 else "-"), abs(offset)
    return f"UTC{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}"


# China Standard Time has had no daylight saving since 1991: a fixed offset needs no zone database.
CHINA_TIME = QTimeZone(8 * 3600)


def china_time_text(text: str) -> str:
    """A time WeCom gives as text in China time ("2025-01-02 10:00:00", a form's creation time) in
    the local time zone as the chat shows its times ("2025-01-02 03:00" in Berlin); text that is
    not such a time is returned as it is."""
    for fmt in ("yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm"):
        parsed = QDateTime.fromString(text.strip(), fmt)
        if parsed.isValid():
            parsed.setTimeZone(CHINA_TIME)
            return format_time(parsed.toMSecsSinceEpoch(), "yyyy-MM-dd HH:mm")
    return text


def format_seconds_time(seconds: int | None) -> str:
    """A WeCom time in seconds (meetings, calendars, chat record items) as local date and time."""
    if seconds is None or seconds <= 0:
        return ""
    return format_time(seconds * 1000, "yyyy-MM-dd HH:mm")


def day_label(ms: int) -> str:
    """"2025年1月2日 星期四" in a Chinese UI, "Thursday, 2 January 2025" otherwise (local date)."""
    date = local_datetime(ms).date()
    if ui_is_chinese():
        return QLocale(QLocale.Language.Chinese, QLocale.Country.China).toString(date, "yyyy年M月d日 dddd")
    return QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom).toString(date, "dddd, d MMMM yyyy")


def format_size(size: int | None) -> str:
    if size is None or not 0 <= size <= _QINT64:
        return ""
    return QLocale.c().formattedDataSize(size, 1, QLocale.DataSizeFormat.DataSizeTraditionalFormat)


def format_duration(seconds: int | None) -> str:
    """12″ for short voice messages, 1:05 / 1:02:03 for longer things."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds}″"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{sec:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}"


def format_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return translate("MessageRenderer", "{amount} yuan").format(amount=f"{sign}{yuan}.{cents:02d}")


def summary_of(parsed: ParsedMessage) -> str:
    return pick(parsed.summary_en, parsed.summary_zh)


def item_summary(msgtype: str, record: object) -> str:
    zh, en = summarize(msgtype, record)
    return pick(en, zh)


def type_name(msgtype: str) -> str:
    """The label of a msgtype in the UI language, from the msgtype registry: "Image" / "图片"."""
    return label_of(msgtype, ui_is_chinese())


def type_label(msgtype: str) -> str:
    """The bracketed kind label of a msgtype in the UI language, e.g. "[Link]" / "[链接]"."""
    return f"[{type_name(msgtype)}]"


# ---------------------------------------------------------------- blocks

def _neutral(obj, text_fields: tuple[str, ...] = (), name_fields: tuple[str, ...] = ()) -> None:
    """Neutralise a frozen block's fields in place (text keeps line breaks, names stay one line)."""
    for f in text_fields:
        object.__setattr__(obj, f, display_text(getattr(obj, f)))
    for f in name_fields:
        object.__setattr__(obj, f, display_name(getattr(obj, f)))


@dataclass(frozen=True)
class TextBlock:
    text: str
    style: str = "body"          # body | title | muted | warning

    def __post_init__(self):
        _neutral(self, ("text",))


@dataclass(frozen=True)
class CardBlock:
    label: str                   # the kind, e.g. "[Link]"
    title: str
    lines: tuple[str, ...] = ()
    footer: str = ""

    def __post_init__(self):
        _neutral(self, ("title", "footer"), ("label",))
        object.__setattr__(self, "lines", tuple(display_text(x) for x in self.lines))


@dataclass(frozen=True)
class MediaBlock:
    kind: str                    # image | emotion | voice | video | file | recording
    path: str                    # the media ref_path in the message ("image", "mixed.item[1]")
    media: MediaRow | None       # None: no media row (the message named no fetchable object)
    name: str
    detail: str                  # size and/or duration
    status: str                  # "" when stored, else a short sentence on why it is not viewable
    offered: tuple[str, ...]     # of "view", "open", "save": what this kind of object allows
    thumbnail: bool = False      # draw the picture itself (image, emotion)
    max_side: int = THUMBNAIL_SIDE

    def __post_init__(self):
        _neutral(self, ("detail", "status"), ("name",))

    @property
    def actions(self) -> tuple[str, ...]:
        """The actions available now: none until the object is stored."""
        return self.offered if self.media is not None and self.media.status == "stored" else ()


@dataclass(frozen=True)
class QuoteBlock:
    header: str
    blocks: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "header", display_text(self.header, one_line=True))


@dataclass(frozen=True)
class ToggleBlock:
    expanded: bool
    text: str


@dataclass(frozen=True)
class SystemBlock:
    text: str

    def __post_init__(self):
        _neutral(self, ("text",))


@dataclass(frozen=True)
class UnsupportedBlock:
    text: str
    link: str

    def __post_init__(self):
        _neutral(self, ("text",))


@dataclass
class Rendered:
    """What one message shows: its blocks and whether it is a centred system line."""

    blocks: list = field(default_factory=list)
    system: bool = False
    expandable: bool = False


# ---------------------------------------------------------------- renderers, one per record class
# The Qt side of the msgtype registry (app/core/messages/registry.py): each record class parse
# gives is drawn by one function here, ``draw(record, context) -> list of blocks``, found by the
# record's class. A test checks that every registered msgtype has one.

Draw = Callable[[Any, "RenderContext"], list]


@dataclass(frozen=True, slots=True)
class Renderer:
    draw: Draw
    system: bool          # the message shows as one centred grey line (recalls, consent, switches)


RENDERERS: dict[type, Renderer] = {}


def renders(*record_classes: type, system: bool = False) -> Callable[[Draw], Draw]:
    """Register the decorated function as the renderer of these record classes.

    ``system=True``: at the top level the message is a centred system line; such a record inside a
    chat record or mixed message shows as unsupported (a system line has no place inside a bubble).
    """

    def register(draw: Draw) -> Draw:
        for cls in record_classes:
            if cls in RENDERERS:
                raise ValueError(f"{cls.__name__} has two renderers")
            RENDERERS[cls] = Renderer(draw, system)
        return draw

    return register


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a renderer knows besides its record."""

    renderer: MessageRenderer
    msgtype: str                 # the record's msgtype (redpacket and external_redpacket share RedPacket)
    path: str                    # its media path in the message: "image", "chatrecord.item[2]"
    media_by_path: dict          # ref_path -> MediaRow, for the whole message
    sender: str = ""             # the message's sender id (top level only)
    expanded: bool | None = None  # top level: whether chatrecord/mixed show every item; None: nested
    depth: int = 0               # chatrecord/mixed nesting level

    @property
    def media(self) -> MediaRow | None:
        """The media row stored for this record's path, if any."""
        return self.media_by_path.get(self.path)

    @property
    def type_label(self) -> str:
        """The bracketed kind label of the msgtype in the UI language: "[Link]" / "[链接]"."""
        return type_label(self.msgtype)

    def label(self, userid: str) -> str:
        """A userid's display name (as the viewer shows people)."""
        return self.renderer.label(userid)

    def item_blocks(self, msgtype: str, record: object, path: str) -> list:
        """The blocks of a chatrecord/mixed item (nested containers are shown whole)."""
        return self.renderer.blocks_of(msgtype, record, path, self.media_by_path, self.depth + 1)


class MessageRenderer:
    """Turns one stored message into blocks. ``label`` maps a userid to a display name."""

    def __init__(self, label=lambda userid: userid):
        self.label = label

    def render(self, row: MessageRow, parsed: ParsedMessage | None, media: list[MediaRow] | None,
               expanded: bool = False) -> Rendered:
        media_by_path = {m.ref_path: m for m in (media or [])}
        if parsed is None:  # a stored message always parses; say so if it did not
            return Rendered([UnsupportedBlock(
                translate("MessageRenderer", "[This message could not be read: {type}]").format(type=row.msgtype),
                translate("MessageRenderer", "Show raw JSON"))])
        content = parsed.content
        renderer = RENDERERS.get(type(content))
        if renderer is None:
            return Rendered([_unsupported(parsed.msgtype)])
        context = RenderContext(self, parsed.msgtype, payload_key(parsed.msgtype), media_by_path,
                                row.sender, expanded)
        blocks = renderer.draw(content, context)
        if renderer.system:
            return Rendered(blocks, system=True)
        out = Rendered(blocks, expandable=any(type(b) is ToggleBlock for b in blocks))
        # A message of one media object whose row is the only one: match it even if paths differ.
        media_blocks = [b for b in out.blocks if isinstance(b, MediaBlock)]
        if media and len(media) == 1 and len(media_blocks) == 1 and media_blocks[0].media is None:
            out.blocks = [_with_media(b, media[0]) if b is media_blocks[0] else b for b in out.blocks]
        return out

    def blocks_of(self, msgtype: str, r, path: str, media_by_path: dict, depth: int) -> list:
        """The blocks of one record drawn inside a message (a chat record's item, a mixed part)."""
        renderer = RENDERERS.get(type(r))
        if renderer is None or renderer.system:
            return [_unsupported(msgtype)]
        return renderer.draw(r, RenderContext(self, msgtype, path, media_by_path, depth=depth))


@renders(Unsupported)
def _unsupported_record(r: Unsupported, c: RenderContext) -> list:
    return [_unsupported(r.msgtype or c.msgtype)]


@renders(Text)
def _text(r: Text, c: RenderContext) -> list:
    return [TextBlock(_clip_text(r.content))]


@renders(Image)
def _image(r: Image, c: RenderContext) -> list:
    return [_media_block("image", c.path, c.media, type_name("image"), format_size(r.filesize),
                         ("view", "save"), thumbnail=True)]


@renders(Revoke, system=True)
def _revoke(r: Revoke, c: RenderContext) -> list:
    who = c.label(c.sender) if c.sender else ""
    return [SystemBlock(translate("MessageRenderer", "{who} recalled a message").format(who=who))]


@renders(Agree, system=True)
def _agree(r: Agree, c: RenderContext) -> list:
    return [SystemBlock(translate("MessageRenderer", "{who} agreed to have chats archived")
                        .format(who=c.label(r.userid or c.sender)))]


@renders(Disagree, system=True)
def _disagree(r: Disagree, c: RenderContext) -> list:
    return [SystemBlock(translate("MessageRenderer", "{who} declined to have chats archived")
                        .format(who=c.label(r.userid or c.sender)))]


@renders(Voice)
def _voice(r: Voice, c: RenderContext) -> list:
    detail = " · ".join(x for x in (format_duration(r.play_length), format_size(r.voice_size)) if x)
    # WeCom stores voice as AMR; Qt plays it only with QtMultimedia (PySide6-Addons) and an FFmpeg
    # built with an AMR decoder, neither of which the app ships: say so, and hand it to the desktop.
    return [_media_block("voice", c.path, c.media, translate("MessageRenderer", "Voice message"), detail,
                         ("open", "save")),
            TextBlock(translate("MessageRenderer", "AMR audio cannot be played inside this app: \"Open\" plays "
                                                   "it with a program of this computer that can."), "muted")]


@renders(Video)
def _video(r: Video, c: RenderContext) -> list:
    detail = " · ".join(x for x in (format_duration(r.play_length), format_size(r.filesize)) if x)
    return [_media_block("video", c.path, c.media, type_name("video"), detail, ("open", "save"))]


@renders(Card)
def _card(r: Card, c: RenderContext) -> list:
    return [CardBlock(c.type_label, c.label(r.userid) if r.userid else "", _nonempty(r.corpname), r.userid)]


@renders(Location)
def _location(r: Location, c: RenderContext) -> list:
    coords = ""
    if r.latitude is not None and r.longitude is not None:
        coords = f"{r.latitude:.6f}, {r.longitude:.6f}"
    return [CardBlock(c.type_label, r.title or r.address, _nonempty(r.address if r.title else ""), coords)]


@renders(Emotion)
def _emotion(r: Emotion, c: RenderContext) -> list:
    return [_media_block("emotion", c.path, c.media, type_name("emotion"), "", ("view", "save"),
                         thumbnail=True, max_side=STICKER_SIDE)]


@renders(File)
def _file(r: File, c: RenderContext) -> list:
    return [_media_block("file", c.path, c.media, r.filename or type_name("file"), format_size(r.filesize),
                         _file_actions(r.fileext, r.filename))]


@renders(Link)
def _link(r: Link, c: RenderContext) -> list:
    return [CardBlock(c.type_label, r.title or r.link_url, _nonempty(r.description), r.link_url)]


@renders(Weapp)
def _weapp(r: Weapp, c: RenderContext) -> list:
    return [CardBlock(c.type_label, r.title or r.displayname, _nonempty(r.description), r.displayname)]


@renders(ChatRecord)
def _chatrecord(r: ChatRecord, c: RenderContext) -> list:
    count = translate("MessageRenderer", "{n} forwarded messages").format(n=len(r.item))
    if c.expanded is None:  # nested: a card of its first items; the toggle belongs to the top-level message
        lines = tuple(item_summary(it.msgtype, it.content) for it in r.item[:8])
        return [CardBlock(c.type_label, r.title, lines, count)]
    if not c.expanded:
        lines = tuple(item_summary(it.msgtype, it.content) for it in r.item[:COLLAPSED_CHATRECORD_ITEMS])
        return [CardBlock(c.type_label, r.title, lines, count),
                *_toggle(len(r.item), COLLAPSED_CHATRECORD_ITEMS, False)]
    out: list = [CardBlock(c.type_label, r.title, (count,))]
    for i, item in enumerate(r.item):
        header = format_seconds_time(item.msgtime)  # the item's own blocks say what it is
        blocks = c.item_blocks(item.msgtype, item.content, f"{c.path}.item[{i}]")
        out.append(QuoteBlock(header, tuple(blocks)))
    return out + _toggle(len(r.item), COLLAPSED_CHATRECORD_ITEMS, True)


@renders(Todo)
def _todo(r: Todo, c: RenderContext) -> list:
    return [CardBlock(c.type_label, r.title, _nonempty(r.content))]


@renders(Vote)
def _vote(r: Vote, c: RenderContext) -> list:
    kind = {101: translate("MessageRenderer", "Started a vote"),
            102: translate("MessageRenderer", "Voted")}.get(r.votetype, "")
    return [CardBlock(c.type_label, r.votetitle, tuple(f"• {o}" for o in r.voteitem), kind)]


@renders(Collect)
def _collect(r: Collect, c: RenderContext) -> list:
    lines = tuple(f"{d.id if d.id is not None else i + 1}. {d.ques}" for i, d in enumerate(r.details))
    footer = " · ".join(x for x in (r.room_name, r.creator, china_time_text(r.create_time)) if x)
    return [CardBlock(c.type_label, r.title, lines, footer)]


@renders(RedPacket)
def _redpacket(r: RedPacket, c: RenderContext) -> list:
    lines = []
    if r.totalamount is not None:
        lines.append(translate("MessageRenderer", "Amount: {amount}").format(amount=format_yuan(r.totalamount)))
    if r.totalcnt is not None:
        lines.append(translate("MessageRenderer", "Packets: {n}").format(n=r.totalcnt))
    kind = _REDPACKET_TYPE.get(r.type)
    return [CardBlock(c.type_label, r.wish or type_name("redpacket"), tuple(lines),
                      translate("MessageRenderer", kind) if kind else "")]


@renders(Meeting)
def _meeting(r: Meeting, c: RenderContext) -> list:
    lines = [_time_range(r.starttime, r.endtime)]
    if r.address:
        lines.append(translate("MessageRenderer", "Place: {place}").format(place=r.address))
    if r.remarks:
        lines.append(r.remarks)
    status = _MEETING_STATUS.get(r.status)
    footer = translate("MessageRenderer", status) if status else ""
    return [CardBlock(c.type_label, r.topic, tuple(x for x in lines if x), footer)]


@renders(DocMsg)
def _docmsg(r: DocMsg, c: RenderContext) -> list:
    lines = _nonempty(translate("MessageRenderer", "Created by {who}").format(who=c.label(r.doc_creator))
                      if r.doc_creator else "")
    return [CardBlock(c.type_label, r.title, lines, r.link_url)]


@renders(Markdown)
def _markdown(r: Markdown, c: RenderContext) -> list:  # shown as its source text, never rendered
    return [TextBlock(c.type_label, "muted"), TextBlock(_clip_text(r.content))]


@renders(News)
def _news(r: News, c: RenderContext) -> list:
    blocks = [CardBlock(c.type_label, item.title, _nonempty(item.description), item.url) for item in r.item]
    return blocks or [CardBlock(c.type_label, "")]


@renders(Calendar)
def _calendar(r: Calendar, c: RenderContext) -> list:
    lines = [_time_range(r.starttime, r.endtime)]
    if r.place:
        lines.append(translate("MessageRenderer", "Place: {place}").format(place=r.place))
    if r.attendeename:
        lines.append(translate("MessageRenderer", "Attendees: {names}").format(names=", ".join(r.attendeename)))
    if r.remarks:
        lines.append(r.remarks)
    footer = translate("MessageRenderer", "Created by {who}").format(who=r.creatorname) if r.creatorname else ""
    return [CardBlock(c.type_label, r.title, tuple(x for x in lines if x), footer)]


@renders(Mixed)
def _mixed(r: Mixed, c: RenderContext) -> list:
    if c.expanded is None:  # nested: every part, shown whole
        return [b for i, it in enumerate(r.item)
                for b in c.item_blocks(it.msgtype, it.content, f"{c.path}.mixed.item[{i}]")]
    shown = r.item if c.expanded else r.item[:COLLAPSED_MIXED_ITEMS]
    out = [b for i, it in enumerate(shown)
           for b in c.item_blocks(it.msgtype, it.content, f"{c.path}.item[{i}]")]
    return out + _toggle(len(r.item), COLLAPSED_MIXED_ITEMS, c.expanded)


@renders(MeetingVoiceCall)
def _meeting_voice_call(r: MeetingVoiceCall, c: RenderContext) -> list:
    lines = []
    if r.endtime:
        lines.append(translate("MessageRenderer", "Ended {time}").format(time=format_seconds_time(r.endtime)))
    for d in r.demofiledata:
        lines.append(translate("MessageRenderer", "Shared file: {name} ({who})")
                     .format(name=display_name(d.filename), who=c.label(d.demooperator)))
    for s in r.sharescreendata:
        lines.append(translate("MessageRenderer", "Shared screen: {who}").format(who=c.label(s.share)))
    name = translate("MessageRenderer", "Call recording")
    return [CardBlock(c.type_label, name, tuple(lines)), _media_block("recording", c.path, c.media, name, "", ("save",))]


@renders(VoipDocShare)
def _voip_doc_share(r: VoipDocShare, c: RenderContext) -> list:
    return [CardBlock(c.type_label, display_name(r.filename)),
            _media_block("file", c.path, c.media, r.filename or type_name("file"), format_size(r.filesize),
                         _file_actions("", r.filename))]


@renders(SphFeed)
def _sphfeed(r: SphFeed, c: RenderContext) -> list:
    kind = _FEED_TYPE.get(r.feed_type)
    footer = translate("MessageRenderer", kind) if kind else ""
    return [CardBlock(c.type_label, r.sph_name, _nonempty(r.feed_desc), footer)]


@renders(VoipText)
def _voiptext(r: VoipText, c: RenderContext) -> list:
    kind = _CALL_TYPE.get(r.invitetype)
    title = translate("MessageRenderer", kind) if kind else translate("MessageRenderer", "Call")
    duration = translate("MessageRenderer", "Duration {d}").format(d=format_duration(r.callduration)) \
        if r.callduration is not None else ""
    return [CardBlock(c.type_label, title, _nonempty(duration))]


@renders(QyDiskFile)
def _qydiskfile(r: QyDiskFile, c: RenderContext) -> list:
    return [CardBlock(c.type_label, display_name(r.filename))]


@renders(Switch, system=True)
def _switch(r: Switch, c: RenderContext) -> list:
    return [SystemBlock(translate("MessageRenderer", "{who} switched enterprise")
                        .format(who=c.label(r.user or c.sender)))]


def _toggle(count: int, collapsed: int, expanded: bool) -> list:
    """"Show all 12 items" / "Collapse" under a chatrecord or mixed message longer than ``collapsed``."""
    if count <= collapsed:
        return []
    if expanded:
        return [ToggleBlock(True, translate("MessageRenderer", "Collapse"))]
    return [ToggleBlock(False, translate("MessageRenderer", "Show all {n} items").format(n=count))]


_MEETING_STATUS = {1: QT_TRANSLATE_NOOP("MessageRenderer", "Attended"),
                   2: QT_TRANSLATE_NOOP("MessageRenderer", "Declined"),
                   3: QT_TRANSLATE_NOOP("MessageRenderer", "Not answered yet"),
                   4: QT_TRANSLATE_NOOP("MessageRenderer", "Cancelled"),
                   5: QT_TRANSLATE_NOOP("MessageRenderer", "Expired")}
_REDPACKET_TYPE = {1: QT_TRANSLATE_NOOP("MessageRenderer", "Normal red packet"),
                   2: QT_TRANSLATE_NOOP("MessageRenderer", "Lucky red packet"),
                   3: QT_TRANSLATE_NOOP("MessageRenderer", "Incentive red packet")}
_FEED_TYPE = {2: QT_TRANSLATE_NOOP("MessageRenderer", "Picture post"),
              4: QT_TRANSLATE_NOOP("MessageRenderer", "Video post"),
              9: QT_TRANSLATE_NOOP("MessageRenderer", "Live stream")}
_CALL_TYPE = {1: QT_TRANSLATE_NOOP("MessageRenderer", "Voice call"),
              2: QT_TRANSLATE_NOOP("MessageRenderer", "Video call"),
              3: QT_TRANSLATE_NOOP("MessageRenderer", "Group voice call"),
              4: QT_TRANSLATE_NOOP("MessageRenderer", "Group video call")}


def _nonempty(*texts: str) -> tuple[str, ...]:
    return tuple(x for x in texts if x)


def _clip_text(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    more = len(text) - MAX_TEXT_CHARS
    return text[:MAX_TEXT_CHARS] + "…\n" + translate(
        "MessageRenderer", "({n} more characters: open Details to read the whole message)").format(n=more)


def _time_range(start: int | None, end: int | None) -> str:
    a, b = format_seconds_time(start), format_seconds_time(end)
    if a and b:
        if a[:10] == b[:10]:
            b = b[11:]
        return f"{a} – {b}"
    return a or b


def _file_actions(ext: str, filename: str) -> tuple[str, ...]:
    """"Open" only when neither the declared extension nor the file name's own one (the name the
    opened copy gets) is a type the desktop would run: a message may declare "pdf" for "x.exe"."""
    declared = (ext or "").lower().lstrip(".")
    named = filename.rsplit(".", 1)[1].lower().strip() if "." in (filename or "") else ""
    runs = {declared, named} & (EXECUTABLE_EXTS | BROWSER_RUN_EXTS)
    return ("save",) if runs else ("open", "save")


def media_status_text(m: MediaRow | None) -> str:
    """"" for a stored object, else why it cannot be viewed (pending, failed with reason, expired)."""
    if m is None:
        return translate("MessageRenderer", "Not archived (no media reference)")
    if m.status == "stored":
        return ""
    if m.status == "pending":
        return translate("MessageRenderer", "Download pending")
    if m.status == "expired":
        return translate("MessageRenderer", "Expired: WeCom no longer holds this file")
    if m.status == "failed":
        reason = (m.last_error or "").strip()
        return translate("MessageRenderer", "Download failed: {reason}").format(reason=reason) if reason \
            else translate("MessageRenderer", "Download failed")
    return m.status


def _media_block(kind: str, path: str, m: MediaRow | None, name: str, detail: str, actions: tuple[str, ...],
                 thumbnail: bool = False, max_side: int = THUMBNAIL_SIDE) -> MediaBlock:
    if m is not None and m.stored_size is not None and not detail:
        detail = format_size(m.stored_size)
    return MediaBlock(kind, path, m, name, detail, media_status_text(m), actions, thumbnail, max_side)


def _with_media(b: MediaBlock, m: MediaRow) -> MediaBlock:
    return _media_block(b.kind, m.ref_path, m, b.name, b.detail, b.offered, b.thumbnail, b.max_side)


def _unsupported(msgtype: str) -> UnsupportedBlock:
    return UnsupportedBlock(
        translate("MessageRenderer", "[Unsupported message type: {type}]").format(type=msgtype or "?"),
        translate("MessageRenderer", "Show raw JSON"))
