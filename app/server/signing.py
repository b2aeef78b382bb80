"""msg-server's request signing (``/api/v1``), as OpenSCRM's api-server computes it.

The caller and the server share ``InnerSrvAppCode``. ``POST /api/v1/chat-msg/sync`` signs the corp
id: ``hex(HMAC-SHA256(app_code, ext_corp_id))``. The three GET routes sign their request struct as
Go's ``GenBytesOrderByColumn`` prints it: the struct's Go field names sorted, each as
``Name=%v`` joined with ``&`` — embedded structs print as ``{a b c}`` (``Pager`` is
``{page page_size total_rows}``, total_rows always 0; ``Sorter`` is ``{sort_field sort_type}``).
The signature travels as the ``signature`` parameter. It covers neither ``ext_corp_id`` (of the GET
routes) nor a time, so a signed request can be replayed: msg-server's design, kept for compatibility
and documented; ``/api/v2`` authenticates accounts with tokens instead.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

# Go field name -> (query parameter, kind); kind "int" prints as a number (0 when absent).
SESSIONS_FIELDS = {"ExtStaffID": ("ext_staff_id", "str"), "SessionType": ("session_type", "str"),
                   "Name": ("name", "str"), "Pager": ("pager", "pager"), "Sorter": ("sorter", "sorter")}
MSGS_FIELDS = {"ExtStaffID": ("ext_staff_id", "str"), "ReceiverID": ("receiver_id", "str"),
               "MsgType": ("msg_type", "str"), "SendAtStart": ("send_at_start", "str"),
               "SendAtEnd": ("send_at_end", "str"), "MaxID": ("max_id", "str"), "MinID": ("min_id", "str"),
               "Limit": ("limit", "int"), "Sorter": ("sorter", "sorter"), "Pager": ("pager", "pager")}
SEARCH_FIELDS = {"Keyword": ("keyword", "str"), "ExtStaffID": ("ext_staff_id", "str"),
                 "ExtPeerID": ("ext_peer_id", "str"), "Pager": ("pager", "pager")}


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def canonical(fields: Mapping[str, tuple[str, str]], params: Mapping[str, str]) -> bytes:
    """The bytes msg-server signs for a GET request with these query ``params``."""
    parts = []
    for name in sorted(fields):
        param, kind = fields[name]
        if kind == "pager":
            value = f"{{{_int(params.get('page'))} {_int(params.get('page_size'))} 0}}"
        elif kind == "sorter":
            value = f"{{{params.get('sort_field', '')} {params.get('sort_type', '')}}}"
        elif kind == "int":
            value = str(_int(params.get(param)))
        else:
            value = params.get(param, "")
        parts.append(f"{name}={value}")
    return "&".join(parts).encode("utf-8")


def sign(app_code: str, message: bytes) -> str:
    return hmac.new(app_code.encode("utf-8"), message, hashlib.sha256).hexdigest()


def check(app_code: str, message: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``message`` (compared in constant time)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(app_code, message), signature.strip().lower())
