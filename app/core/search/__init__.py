"""Message search. For now a plain substring scan through the database (exact, slower on millions);
the search issue swaps the engine behind :class:`SearchService` without changing its callers."""

from .substring import SearchHit, SearchQuery, SearchService

__all__ = ["SearchHit", "SearchQuery", "SearchService"]
