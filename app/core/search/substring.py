"""Substring search over the searchable text of messages (``messages.content_text``).

``LIKE`` with every ``%``, ``_`` and ``\\`` of the keyword escaped, so they are ordinary characters.
Case-insensitive for Latin letters on both backends (lower() on both sides). Results are newest
first and paged; each hit carries the match offsets in its text so the GUI can highlight them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select

from app.core.actor import Actor
from app.core.archive import _MESSAGE_COLUMNS, MessageRow, _message_row
from app.core.store.db import Database
from app.core.store.models import Message


@dataclass(frozen=True)
class SearchQuery:
    keyword: str = ""
    start_ms: int | None = None
    end_ms: int | None = None  # exclusive
    sender: str | None = None
    msgtype: str | None = None
    session_type: str | None = None
    session_id: str | None = None
    corp_id: int | None = None

    def is_empty(self) -> bool:
        return not (self.keyword or self.sender or self.msgtype or self.session_type or self.session_id
                    or self.start_ms or self.end_ms)


@dataclass(frozen=True)
class SearchHit:
    message: MessageRow
    offsets: tuple[tuple[int, int], ...]  # (start, end) of each match in message.content_text


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def match_offsets(text: str, keyword: str) -> tuple[tuple[int, int], ...]:
    if not keyword:
        return ()
    hay, needle = text.lower(), keyword.lower()
    out, start = [], hay.find(needle)
    while start != -1:
        out.append((start, start + len(needle)))
        start = hay.find(needle, start + len(needle))
    return tuple(out)


class SearchService:
    def __init__(self, db: Database):
        self.db = db

    def _where(self, q: SearchQuery):
        cond = []
        if q.keyword:
            cond.append(func.lower(Message.content_text).like(
                literal("%" + _escape_like(q.keyword.lower()) + "%"), escape="\\"))
        if q.corp_id is not None:
            cond.append(Message.corp_id == q.corp_id)
        if q.start_ms is not None:
            cond.append(Message.msgtime >= q.start_ms)
        if q.end_ms is not None:
            cond.append(Message.msgtime < q.end_ms)
        if q.sender:
            cond.append(Message.sender == q.sender)
        if q.msgtype:
            cond.append(Message.msgtype == q.msgtype)
        if q.session_type:
            cond.append(Message.session_type == q.session_type)
        if q.session_id:
            cond.append(Message.session_id == q.session_id)
        return and_(*cond) if cond else literal(True)

    def search(self, actor: Actor, query: SearchQuery, *, limit: int = 50,
               before: tuple[int, int] | None = None) -> list[SearchHit]:
        """Newest first; pass the (msgtime, id) of the last hit as ``before`` for the next page."""
        stmt = select(*_MESSAGE_COLUMNS).where(self._where(query))
        if before is not None:
            stmt = stmt.where(or_(Message.msgtime < before[0],
                                  and_(Message.msgtime == before[0], Message.id < before[1])))
        stmt = stmt.order_by(Message.msgtime.desc(), Message.id.desc()).limit(limit)
        with self.db.read() as conn:
            rows = [_message_row(r) for r in conn.execute(stmt)]
        return [SearchHit(r, match_offsets(r.content_text, query.keyword)) for r in rows]

    def count(self, actor: Actor, query: SearchQuery) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(Message).where(self._where(query))).scalar()
