"""Message search: the form, the lazy list of hits and the delegate that highlights the match."""

from .model import SearchResultDelegate, SearchResultsModel, SearchRole, make_snippet
from .panel import SearchPanel

__all__ = ["SearchPanel", "SearchResultDelegate", "SearchResultsModel", "SearchRole", "make_snippet"]
