"""What every parsed message has in common: ParsedMessage, MediaRef, Unsupported, MessageParseError.

The record of each msgtype (Text, Image, ...) is declared with its parser in ``catalogue.py``.
Everything here can be recomputed from the stored JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.picklable import compact_pickle


class MessageParseError(ValueError):
    """The entry cannot be archived as a message.

    Raised only for: bytes that are not UTF-8, text that is not JSON (or nests too deeply for the
    JSON decoder), JSON that is not an object, and an object without a non-empty string ``msgid``.
    Every other oddity is tolerated and listed in ``ParsedMessage.problems``.
    """


@compact_pickle
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


@compact_pickle
@dataclass(frozen=True, slots=True)
class Unsupported:
    """An unknown msgtype, or a known one whose payload could not be interpreted.

    ``payload`` is the raw JSON value (the object under the msgtype's key, the inner item content...),
    kept for display; the stored original message stays the reference.
    """

    msgtype: str
    payload: object


@compact_pickle
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
