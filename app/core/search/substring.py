"""The names the search panel was written against, kept working.

:class:`SearchService` now runs every search through the index (service.py); ``SearchQuery`` and
``SearchHit`` live in model.py. ``match_offsets`` is the same normalised matching the engine uses
(NFKC + case fold), with offsets in the original text.
"""

from __future__ import annotations

from .model import SearchHit, SearchQuery
from .service import SearchService
from .text import match_spans, normalise


def match_offsets(text: str, keyword: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of every match of ``keyword`` in ``text`` (original offsets)."""
    return match_spans(text, [normalise(keyword)]) if keyword else ()


def _escape_like(text: str) -> str:
    """``text`` for a LIKE pattern with ``\\`` as the escape character: no wildcards left."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__ = ["SearchHit", "SearchQuery", "SearchService", "match_offsets"]
