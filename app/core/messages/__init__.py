"""Decrypted WeCom message JSON → typed records, session id/type, summaries and searchable text.

    from app.core.messages import parse_message, MessageParseError
    parsed = parse_message(plaintext_bytes)      # raises only MessageParseError

Modules: ``catalogue`` (every msgtype declared once: record, parser, labels, summary, search text,
media refs), ``registry`` (the declarations and their lookups), ``payload`` (the tolerant field
readers parsers use), ``parse`` (parse_message: the envelope), ``records`` (ParsedMessage, MediaRef,
Unsupported), ``session`` (session rules and where they differ from the seed), ``text`` (summaries,
search text). Qt-free and pure: safe to call from any thread.

The record classes (Text, Image, ...) are imported from where they are declared:
``from app.core.messages.catalogue import Image``.
"""

from .parse import MAX_DEPTH, parse_message
from .records import MediaRef, MessageParseError, ParsedMessage, Unsupported
from .registry import CATALOGUE, LABELS, MSGTYPES, MsgType, for_record, inner_msgtype, label_of, payload_key
from .session import looks_like_external_userid, session_key, session_of
from .text import search_text_of, summarize

__all__ = [
    "parse_message", "session_of", "session_key", "looks_like_external_userid", "summarize",
    "search_text_of", "inner_msgtype", "CATALOGUE", "LABELS", "MAX_DEPTH",
    "MSGTYPES", "MsgType", "for_record", "label_of", "payload_key",
    "MessageParseError", "MediaRef", "ParsedMessage", "Unsupported",
]
