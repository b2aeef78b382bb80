"""Decrypted WeCom message JSON → typed records, session id/type, summaries and searchable text.

    from app.core.messages import parse_message, MessageParseError
    parsed = parse_message(plaintext_bytes)      # raises only MessageParseError

Modules: ``records`` (the dataclasses), ``parse`` (parse_message and the msgtype catalogue),
``session`` (session rules and where they differ from the seed), ``text`` (summaries, search text).
Qt-free and pure: safe to call from any thread.
"""

from .parse import CATALOGUE, MAX_DEPTH, inner_msgtype, parse_message
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
from .session import looks_like_external_userid, session_key, session_of
from .text import LABELS, search_text_of, summarize

__all__ = [
    "parse_message", "session_of", "session_key", "looks_like_external_userid", "summarize",
    "search_text_of", "inner_msgtype", "CATALOGUE", "LABELS", "MAX_DEPTH",
    "MessageParseError", "MediaRef", "ParsedMessage", "Unsupported",
    "Text", "Image", "Revoke", "Agree", "Disagree", "Voice", "Video", "Card", "Location", "Emotion",
    "File", "Link", "Weapp", "ChatRecord", "ChatRecordItem", "Todo", "Vote", "Collect", "CollectDetail",
    "RedPacket", "Meeting", "DocMsg", "Markdown", "News", "NewsItem", "Calendar", "Mixed", "MixedItem",
    "MeetingVoiceCall", "DemoFile", "ShareScreen", "VoipDocShare", "SphFeed", "VoipText", "QyDiskFile",
    "Switch",
]
