"""Every msgtype, declared once: its record, parser, labels, summary, search text and media refs.

In the order of the reference's message catalogue (``shared/reference/wecom-finance-sdk.md``,
section 6). Each msgtype is one block:

* a frozen dataclass, the **record** parse gives. Field names are WeCom's JSON keys; strings default
  to "", ints and floats to None when absent or unusable, lists become tuples. Times keep WeCom's
  unit: ``msgtime``/``agree_time``/switch ``time`` in ms, meeting/calendar/collect/chatrecord item
  times in seconds. Records are plain data: a file name is never a path, a URL never fetched.
* a **parser**, ``Payload -> record``, registered with :func:`message_type`, which also gives the
  labels (``zh``/``en``), the summary (``detail``: "[label] detail"; or a whole ``summary``) and
  the ``search`` texts (human-written text, titles, file names; never ids, URLs or md5s). The
  parser calls ``p.media(...)`` for each object GetMediaData should fetch.

The viewer draws each record with a ``@renders(Record)`` function in ``app/ui/viewer/render.py``;
exports use the summary and search text. Adding a msgtype: see "How to add a message type" in
DEVELOPERS.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from .payload import Payload, clean_ext, ext_from_name
from .registry import MsgType, message_type
from .text import SUMMARY_CHARS, clip, labelled, search_texts, summarize, text_or_label, with_duration


@dataclass(frozen=True, slots=True)
class Text:
    content: str


@message_type("text", Text, zh="文本", en="Text", summary=lambda r, t: text_or_label(r.content, t),
              search=lambda r: (r.content,), item_from_text=Text)
def _text(p: Payload) -> Text:
    return Text(p.string("content", required=True))


@dataclass(frozen=True, slots=True)
class Image:
    sdkfileid: str
    md5sum: str
    filesize: int | None


@message_type("image", Image, zh="图片", en="Image")
def _image(p: Payload) -> Image:
    r = Image(p.string("sdkfileid", required=True), p.string("md5sum"), p.integer("filesize"))
    p.media(r.sdkfileid, r.md5sum, r.filesize, ext="jpg")
    return r


@dataclass(frozen=True, slots=True)
class Revoke:
    pre_msgid: str


@message_type("revoke", Revoke, zh="撤回", en="Recalled")
def _revoke(p: Payload) -> Revoke:
    return Revoke(p.string("pre_msgid", required=True))


@dataclass(frozen=True, slots=True)
class Agree:
    """An external contact consented to archiving (agree_time in ms)."""

    userid: str
    agree_time: int | None


@message_type("agree", Agree, zh="同意存档", en="Consented to archiving",
              top_level_fallback=("userid", "agree_time"))
def _agree(p: Payload) -> Agree:
    return Agree(p.string("userid"), p.integer("agree_time"))


@dataclass(frozen=True, slots=True)
class Disagree:
    """An external contact declined archiving (disagree_time in ms)."""

    userid: str
    disagree_time: int | None


@message_type("disagree", Disagree, zh="拒绝存档", en="Declined archiving",
              top_level_fallback=("userid", "disagree_time"))
def _disagree(p: Payload) -> Disagree:
    return Disagree(p.string("userid"), p.integer("disagree_time"))


@dataclass(frozen=True, slots=True)
class Voice:
    sdkfileid: str
    md5sum: str
    voice_size: int | None
    play_length: int | None   # seconds


@message_type("voice", Voice, zh="语音", en="Voice", summary=lambda r, t: with_duration(t, r.play_length))
def _voice(p: Payload) -> Voice:
    r = Voice(p.string("sdkfileid", required=True), p.string("md5sum"), p.integer("voice_size"),
              p.integer("play_length"))
    p.media(r.sdkfileid, r.md5sum, r.voice_size, ext="amr")
    return r


@dataclass(frozen=True, slots=True)
class Video:
    sdkfileid: str
    md5sum: str
    filesize: int | None
    play_length: int | None   # seconds


@message_type("video", Video, zh="视频", en="Video", summary=lambda r, t: with_duration(t, r.play_length))
def _video(p: Payload) -> Video:
    r = Video(p.string("sdkfileid", required=True), p.string("md5sum"), p.integer("filesize"),
              p.integer("play_length"))
    p.media(r.sdkfileid, r.md5sum, r.filesize, ext="mp4")
    return r


@dataclass(frozen=True, slots=True)
class Card:
    corpname: str
    userid: str


@message_type("card", Card, zh="名片", en="Contact card", detail=lambda r: r.corpname,
              search=lambda r: (r.corpname,))
def _card(p: Payload) -> Card:
    return Card(p.string("corpname"), p.string("userid"))


@dataclass(frozen=True, slots=True)
class Location:
    longitude: float | None
    latitude: float | None
    address: str
    title: str
    zoom: int | None


@message_type("location", Location, zh="位置", en="Location", detail=lambda r: r.title or r.address,
              search=lambda r: (r.address, r.title))
def _location(p: Payload) -> Location:
    return Location(p.number("longitude"), p.number("latitude"), p.string("address"), p.string("title"),
                    p.integer("zoom"))


@dataclass(frozen=True, slots=True)
class Emotion:
    type: int | None          # 1 gif, 2 png
    width: int | None
    height: int | None
    imagesize: int | None
    sdkfileid: str
    md5sum: str


_EMOTION_EXT: dict[int | None, str] = {1: "gif", 2: "png"}


@message_type("emotion", Emotion, zh="表情", en="Sticker")
def _emotion(p: Payload) -> Emotion:
    r = Emotion(p.integer("type"), p.integer("width"), p.integer("height"), p.integer("imagesize"),
                p.string("sdkfileid", required=True), p.string("md5sum"))
    p.media(r.sdkfileid, r.md5sum, r.imagesize, ext=_EMOTION_EXT.get(r.type))
    return r


@dataclass(frozen=True, slots=True)
class File:
    filename: str
    fileext: str
    filesize: int | None
    sdkfileid: str
    md5sum: str


@message_type("file", File, zh="文件", en="File", detail=lambda r: r.filename, search=lambda r: (r.filename,))
def _file(p: Payload) -> File:
    r = File(p.string("filename", required=True), p.string("fileext"), p.integer("filesize"),
             p.string("sdkfileid", required=True), p.string("md5sum"))
    p.media(r.sdkfileid, r.md5sum, r.filesize, filename=r.filename or None,
            ext=clean_ext(r.fileext) or ext_from_name(r.filename))
    return r


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    description: str
    link_url: str
    image_url: str


@message_type("link", Link, zh="链接", en="Link", detail=lambda r: r.title,
              search=lambda r: (r.title, r.description))
def _link(p: Payload) -> Link:
    return Link(p.string("title"), p.string("description"), p.string("link_url"), p.string("image_url"))


@dataclass(frozen=True, slots=True)
class Weapp:
    title: str
    description: str
    username: str
    displayname: str


@message_type("weapp", Weapp, zh="小程序", en="Mini program", detail=lambda r: r.title or r.displayname,
              search=lambda r: (r.title, r.description, r.displayname))
def _weapp(p: Payload) -> Weapp:
    return Weapp(p.string("title"), p.string("description"), p.string("username"), p.string("displayname"))


@dataclass(frozen=True, slots=True)
class ChatRecordItem:
    """One forwarded message inside a chat record.

    ``type`` is as given ("ChatRecordText", ...); ``msgtype`` the catalogue msgtype it maps to
    ("text", ...; "" when unknown); ``content`` its parsed record (or Unsupported). msgtime in seconds.
    """

    type: str
    msgtype: str
    msgtime: int | None
    from_chatroom: bool
    content: object


@dataclass(frozen=True, slots=True)
class ChatRecord:
    title: str
    item: tuple[ChatRecordItem, ...]


def _chatrecord_search(r: ChatRecord) -> list[str]:
    out = [r.title]
    for item in r.item:
        out.extend(search_texts(item.content))
    return out


@message_type("chatrecord", ChatRecord, zh="聊天记录", en="Chat history", detail=lambda r: r.title,
              search=_chatrecord_search, container=True)
def _chatrecord(p: Payload) -> ChatRecord:
    items = []
    for item_type, msgtype, it in p.items():
        content = it.item_content(item_type, msgtype)
        items.append(ChatRecordItem(item_type, msgtype, it.integer("msgtime"), it.boolean("from_chatroom"),
                                    content))
    return ChatRecord(p.string("title"), tuple(items))


@dataclass(frozen=True, slots=True)
class Todo:
    title: str
    content: str


@message_type("todo", Todo, zh="待办", en="To-do", detail=lambda r: r.title,
              search=lambda r: (r.title, r.content))
def _todo(p: Payload) -> Todo:
    return Todo(p.string("title"), p.string("content"))


@dataclass(frozen=True, slots=True)
class Vote:
    """Vote fields sit at the top level of the message in WeCom's JSON."""

    votetitle: str
    voteitem: tuple[str, ...]
    votetype: int | None      # 101 start, 102 join
    voteid: str


@message_type("vote", Vote, zh="投票", en="Vote", top_level=True, detail=lambda r: r.votetitle,
              search=lambda r: (r.votetitle, *r.voteitem))
def _vote(p: Payload) -> Vote:
    return Vote(p.string("votetitle"), p.strings("voteitem"), p.integer("votetype"), p.string("voteid"))


@dataclass(frozen=True, slots=True)
class CollectDetail:
    id: int | None
    ques: str
    type: str                 # "Text", "Number", "Date", "Time"


@dataclass(frozen=True, slots=True)
class Collect:
    room_name: str
    creator: str
    create_time: str          # WeCom gives a local "YYYY-MM-DD HH:MM:SS" string
    title: str
    details: tuple[CollectDetail, ...]


@message_type("collect", Collect, zh="填表", en="Form", detail=lambda r: r.title,
              search=lambda r: (r.title, r.room_name, *(d.ques for d in r.details)))
def _collect(p: Payload) -> Collect:
    details = tuple(CollectDetail(d.integer("id"), d.string("ques"), d.string("type"))
                    for _i, d in p.objects("details"))
    return Collect(p.string("room_name"), p.string("creator"), p.string("create_time"), p.string("title"),
                   details)


@dataclass(frozen=True, slots=True)
class RedPacket:
    """redpacket and external_redpacket (the msgtype on ParsedMessage tells them apart)."""

    type: int | None          # 1 normal, 2 lucky, 3 incentive
    wish: str
    totalcnt: int | None
    totalamount: int | None   # fen (1/100 yuan)


@message_type("external_redpacket", RedPacket, zh="互通红包", en="External red packet", key="redpacket",
              detail=lambda r: r.wish, search=lambda r: (r.wish,))
@message_type("redpacket", RedPacket, zh="红包", en="Red packet", detail=lambda r: r.wish,
              search=lambda r: (r.wish,))
def _redpacket(p: Payload) -> RedPacket:
    return RedPacket(p.integer("type"), p.string("wish"), p.integer("totalcnt"), p.integer("totalamount"))


@dataclass(frozen=True, slots=True)
class Meeting:
    topic: str
    starttime: int | None     # seconds
    endtime: int | None
    address: str
    remarks: str
    meetingtype: int | None   # 101 initiated, 102 invited
    meetingid: int | None
    status: int | None        # 1 attended, 2 declined, 3 pending, 4 cancelled, 5 expired


@message_type("meeting", Meeting, zh="会议", en="Meeting", detail=lambda r: r.topic,
              search=lambda r: (r.topic, r.address, r.remarks))
def _meeting(p: Payload) -> Meeting:
    return Meeting(p.string("topic"), p.integer("starttime"), p.integer("endtime"), p.string("address"),
                   p.string("remarks"), p.integer("meetingtype"), p.integer("meetingid"), p.integer("status"))


@dataclass(frozen=True, slots=True)
class DocMsg:
    title: str
    link_url: str
    doc_creator: str


@message_type("docmsg", DocMsg, zh="在线文档", en="Document", key="doc", detail=lambda r: r.title,
              search=lambda r: (r.title,))
def _docmsg(p: Payload) -> DocMsg:
    return DocMsg(p.string("title"), p.string("link_url"), p.string("doc_creator"))


@dataclass(frozen=True, slots=True)
class Markdown:
    content: str


@message_type("markdown", Markdown, zh="Markdown", en="Markdown", key="info", detail=lambda r: r.content,
              search=lambda r: (r.content,))
def _markdown(p: Payload) -> Markdown:
    return Markdown(p.string("content", required=True))


@dataclass(frozen=True, slots=True)
class NewsItem:
    title: str
    description: str
    url: str
    picurl: str


@dataclass(frozen=True, slots=True)
class News:
    item: tuple[NewsItem, ...]


@message_type("news", News, zh="图文", en="News", key="info",
              detail=lambda r: r.item[0].title if r.item else "",
              search=lambda r: [s for item in r.item for s in (item.title, item.description)])
def _news(p: Payload) -> News:
    return News(tuple(NewsItem(it.string("title"), it.string("description"), it.string("url"),
                               it.string("picurl"))
                      for _i, it in p.objects("item")))


@dataclass(frozen=True, slots=True)
class Calendar:
    title: str
    creatorname: str
    attendeename: tuple[str, ...]
    starttime: int | None     # seconds
    endtime: int | None
    place: str
    remarks: str


@message_type("calendar", Calendar, zh="日程", en="Calendar", detail=lambda r: r.title,
              search=lambda r: (r.title, r.place, r.remarks))
def _calendar(p: Payload) -> Calendar:
    return Calendar(p.string("title"), p.string("creatorname"), p.strings("attendeename"),
                    p.integer("starttime"), p.integer("endtime"), p.string("place"), p.string("remarks"))


@dataclass(frozen=True, slots=True)
class MixedItem:
    """One part of a mixed message: ``type`` as given, ``msgtype`` resolved, ``content`` parsed."""

    type: str
    msgtype: str
    content: object


@dataclass(frozen=True, slots=True)
class Mixed:
    item: tuple[MixedItem, ...]


def _mixed_summary(r: Mixed, spec: MsgType) -> tuple[str, str]:
    """The parts' summaries one after another ("你好 [图片]")."""
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
    return (zh, en) if zh else labelled(spec)


@message_type("mixed", Mixed, zh="图文混排", en="Mixed", summary=_mixed_summary,
              search=lambda r: [s for item in r.item for s in search_texts(item.content)], container=True)
def _mixed(p: Payload) -> Mixed:
    return Mixed(tuple(MixedItem(item_type, msgtype, it.item_content(item_type, msgtype))
                       for item_type, msgtype, it in p.items()))


@dataclass(frozen=True, slots=True)
class DemoFile:
    filename: str
    demooperator: str
    starttime: int | None     # seconds
    endtime: int | None


@dataclass(frozen=True, slots=True)
class ShareScreen:
    share: str
    starttime: int | None     # seconds
    endtime: int | None


@dataclass(frozen=True, slots=True)
class MeetingVoiceCall:
    """voiceid sits at the top level of the message in WeCom's JSON."""

    voiceid: str
    endtime: int | None       # seconds
    sdkfileid: str
    demofiledata: tuple[DemoFile, ...]
    sharescreendata: tuple[ShareScreen, ...]


@message_type("meeting_voice_call", MeetingVoiceCall, zh="音频存档", en="Call recording",
              search=lambda r: [d.filename for d in r.demofiledata])
def _meeting_voice_call(p: Payload) -> MeetingVoiceCall:
    demos = tuple(DemoFile(d.string("filename"), d.string("demooperator"), d.integer("starttime"),
                           d.integer("endtime"))
                  for _i, d in p.objects("demofiledata"))
    shares = tuple(ShareScreen(s.string("share"), s.integer("starttime"), s.integer("endtime"))
                   for _i, s in p.objects("sharescreendata"))
    r = MeetingVoiceCall(p.top_string("voiceid"), p.integer("endtime"), p.string("sdkfileid", required=True),
                         demos, shares)
    md5 = p.get("md5sum")  # not in the catalogue's fields: taken quietly when given
    p.media(r.sdkfileid, md5 if type(md5) is str else "", None)
    return r


@dataclass(frozen=True, slots=True)
class VoipDocShare:
    """voipid sits at the top level of the message in WeCom's JSON."""

    voipid: str
    filename: str
    md5sum: str
    filesize: int | None
    sdkfileid: str


@message_type("voip_doc_share", VoipDocShare, zh="音频共享文档", en="Document shared in call",
              detail=lambda r: r.filename, search=lambda r: (r.filename,))
def _voip_doc_share(p: Payload) -> VoipDocShare:
    r = VoipDocShare(p.top_string("voipid"), p.string("filename"), p.string("md5sum"), p.integer("filesize"),
                     p.string("sdkfileid", required=True))
    p.media(r.sdkfileid, r.md5sum, r.filesize, filename=r.filename or None, ext=ext_from_name(r.filename))
    return r


@dataclass(frozen=True, slots=True)
class SphFeed:
    feed_type: int | None     # 2 picture, 4 video, 9 live
    sph_name: str
    feed_desc: str


@message_type("sphfeed", SphFeed, zh="视频号", en="Channels post", detail=lambda r: r.sph_name,
              search=lambda r: (r.sph_name, r.feed_desc))
def _sphfeed(p: Payload) -> SphFeed:
    return SphFeed(p.integer("feed_type"), p.string("sph_name"), p.string("feed_desc"))


@dataclass(frozen=True, slots=True)
class VoipText:
    callduration: int | None  # seconds
    invitetype: int | None    # 1 one-to-one audio, 2 one-to-one video, 3 group audio, 4 group video


@message_type("voiptext", VoipText, zh="音视频通话", en="Call", key="info",
              summary=lambda r, t: with_duration(t, r.callduration))
def _voiptext(p: Payload) -> VoipText:
    return VoipText(p.integer("callduration"), p.integer("invitetype"))


@dataclass(frozen=True, slots=True)
class QyDiskFile:
    filename: str


@message_type("qydiskfile", QyDiskFile, zh="微盘文件", en="WeDrive file", key="info", detail=lambda r: r.filename,
              search=lambda r: (r.filename,))
def _qydiskfile(p: Payload) -> QyDiskFile:
    return QyDiskFile(p.string("filename"))


# --- entries picked by their action, not their msgtype -------------------------------------------

@dataclass(frozen=True, slots=True)
class Switch:
    """A "user switched enterprise" log entry (action "switch"; time in ms)."""

    user: str
    time: int | None


@message_type("switch", Switch, zh="切换企业", en="Switched enterprise", top_level=True, action="switch")
def _switch(p: Payload) -> Switch:
    user = p.string("user", required=True)
    if "time" not in p.obj and "msgtime" in p.obj:
        p.note("switch entry has msgtime instead of time")
        return Switch(user, p.integer("msgtime"))
    return Switch(user, p.integer("time", required=True))
