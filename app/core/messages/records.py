"""Typed records for the decrypted WeCom messages (one frozen dataclass per msgtype).

Field names are WeCom's JSON keys, so a record reads like the catalogue
(`shared/reference/wecom-finance-sdk.md`, section 6). Values are typed: strings default to "",
ints and floats to None when absent or unusable, lists become tuples. Times are kept in the unit
WeCom gives: `msgtime`/`agree_time`/switch `time` in milliseconds, meeting/calendar/collect/
chatrecord item times in seconds.

Records are plain data: a file name is never a path, a URL never fetched. Everything here can be
recomputed from the stored JSON.
"""

from __future__ import annotations

from dataclasses import dataclass


class MessageParseError(ValueError):
    """The entry cannot be archived as a message.

    Raised only for: bytes that are not UTF-8, text that is not JSON (or nests too deeply for the
    JSON decoder), JSON that is not an object, and an object without a non-empty string ``msgid``.
    Every other oddity is tolerated and listed in ``ParsedMessage.problems``.
    """


@dataclass(frozen=True, slots=True)
class MediaRef:
    """One media object a message refers to, to be fetched with GetMediaData."""

    sdkfileid: str
    md5sum: str            # "" when WeCom gave none
    size: int | None       # filesize / voice_size / imagesize as given; None if absent or not an int
    kind: str              # top level: the msgtype; inside chatrecord/mixed: the item type as given
    filename: str | None   # the original name, as data (never join it to a path); None if none
    ext: str | None        # lower-case [a-z0-9]{1,10} without dot, or None when unknown or odd
    path: str              # where in the message: "image", "mixed.item[1]", "chatrecord.item[0].mixed.item[2]"


@dataclass(frozen=True, slots=True)
class Unsupported:
    """An unknown msgtype, or a known one whose payload could not be interpreted.

    ``payload`` is the raw JSON value (the object under the msgtype's key, the inner item content...),
    kept for display; the stored original message stays the reference.
    """

    msgtype: str
    payload: object


@dataclass(frozen=True, slots=True)
class Text:
    content: str


@dataclass(frozen=True, slots=True)
class Image:
    sdkfileid: str
    md5sum: str
    filesize: int | None


@dataclass(frozen=True, slots=True)
class Revoke:
    pre_msgid: str


@dataclass(frozen=True, slots=True)
class Agree:
    """An external contact consented to archiving (agree_time in ms)."""

    userid: str
    agree_time: int | None


@dataclass(frozen=True, slots=True)
class Disagree:
    """An external contact declined archiving (disagree_time in ms)."""

    userid: str
    disagree_time: int | None


@dataclass(frozen=True, slots=True)
class Voice:
    sdkfileid: str
    md5sum: str
    voice_size: int | None
    play_length: int | None   # seconds


@dataclass(frozen=True, slots=True)
class Video:
    sdkfileid: str
    md5sum: str
    filesize: int | None
    play_length: int | None   # seconds


@dataclass(frozen=True, slots=True)
class Card:
    corpname: str
    userid: str


@dataclass(frozen=True, slots=True)
class Location:
    longitude: float | None
    latitude: float | None
    address: str
    title: str
    zoom: int | None


@dataclass(frozen=True, slots=True)
class Emotion:
    type: int | None          # 1 gif, 2 png
    width: int | None
    height: int | None
    imagesize: int | None
    sdkfileid: str
    md5sum: str


@dataclass(frozen=True, slots=True)
class File:
    filename: str
    fileext: str
    filesize: int | None
    sdkfileid: str
    md5sum: str


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    description: str
    link_url: str
    image_url: str


@dataclass(frozen=True, slots=True)
class Weapp:
    title: str
    description: str
    username: str
    displayname: str


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


@dataclass(frozen=True, slots=True)
class Todo:
    title: str
    content: str


@dataclass(frozen=True, slots=True)
class Vote:
    """Vote fields sit at the top level of the message in WeCom's JSON."""

    votetitle: str
    voteitem: tuple[str, ...]
    votetype: int | None      # 101 start, 102 join
    voteid: str


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


@dataclass(frozen=True, slots=True)
class RedPacket:
    """redpacket and external_redpacket (the msgtype on ParsedMessage tells them apart)."""

    type: int | None          # 1 normal, 2 lucky, 3 incentive
    wish: str
    totalcnt: int | None
    totalamount: int | None   # fen (1/100 yuan)


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


@dataclass(frozen=True, slots=True)
class DocMsg:
    title: str
    link_url: str
    doc_creator: str


@dataclass(frozen=True, slots=True)
class Markdown:
    content: str


@dataclass(frozen=True, slots=True)
class NewsItem:
    title: str
    description: str
    url: str
    picurl: str


@dataclass(frozen=True, slots=True)
class News:
    item: tuple[NewsItem, ...]


@dataclass(frozen=True, slots=True)
class Calendar:
    title: str
    creatorname: str
    attendeename: tuple[str, ...]
    starttime: int | None     # seconds
    endtime: int | None
    place: str
    remarks: str


@dataclass(frozen=True, slots=True)
class MixedItem:
    """One part of a mixed message: ``type`` as given, ``msgtype`` resolved, ``content`` parsed."""

    type: str
    msgtype: str
    content: object


@dataclass(frozen=True, slots=True)
class Mixed:
    item: tuple[MixedItem, ...]


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


@dataclass(frozen=True, slots=True)
class VoipDocShare:
    """voipid sits at the top level of the message in WeCom's JSON."""

    voipid: str
    filename: str
    md5sum: str
    filesize: int | None
    sdkfileid: str


@dataclass(frozen=True, slots=True)
class SphFeed:
    feed_type: int | None     # 2 picture, 4 video, 9 live
    sph_name: str
    feed_desc: str


@dataclass(frozen=True, slots=True)
class VoipText:
    callduration: int | None  # seconds
    invitetype: int | None    # 1 one-to-one audio, 2 one-to-one video, 3 group audio, 4 group video


@dataclass(frozen=True, slots=True)
class QyDiskFile:
    filename: str


@dataclass(frozen=True, slots=True)
class Switch:
    """A "user switched enterprise" log entry (action "switch"; time in ms)."""

    user: str
    time: int | None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A decrypted message, parsed. Derived data only: the original JSON stays the record."""

    msgid: str
    action: str                  # "send" | "recall" | "switch" | whatever was given
    sender: str                  # "from" ("" if absent); for switch: the "user"
    tolist: tuple[str, ...]
    roomid: str
    msgtime: int                 # ms since epoch (switch: its "time"); 0 if absent/invalid
    msgtype: str                 # as given; "switch" for switch entries; "" if absent
    session_id: str | None       # 32 hex chars (see session.py); None never happens today
    session_type: str | None     # "internal" | "external" | "updown" | "group" | "system"
    content: object              # the typed record for the msgtype, or Unsupported
    summary_zh: str
    summary_en: str
    search_text: str             # "\n"-joined searchable texts; "" when none
    media: tuple[MediaRef, ...]
    recalled_msgid: str | None   # revoke.pre_msgid for recall entries
    supported: bool              # False for unknown msgtypes or payloads we could not interpret
    problems: tuple[str, ...]    # English notes on odd shapes we tolerated
