"""What callers of search pass and get back."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.archive import MessageRow

ORDERS = ("newest", "oldest", "session")


@dataclass(frozen=True)
class SearchQuery:
    """The search panel's filters: ``keyword`` is one substring (spaces included), the rest exact."""

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

    def cursor(self, order: str = "newest") -> tuple:
        """What to pass as ``before=`` for the page after this hit: (msgtime, id), or for
        ``order="session"`` (session_id, msgtime, id)."""
        m = self.message
        if order == "session":
            return (m.session_id or "", m.msgtime, m.id)
        return (m.msgtime, m.id)
