"""Message search: the query box and filters, the lazy list of hits and the delegate that
highlights the match, the syntax help and the search history."""

from .history import SearchHistory
from .model import SearchRequest, SearchResultDelegate, SearchResultsModel, SearchRole, make_snippet
from .panel import SearchPanel, SyntaxHelpDialog

__all__ = ["SearchHistory", "SearchPanel", "SearchRequest", "SearchResultDelegate", "SearchResultsModel",
           "SearchRole", "SyntaxHelpDialog", "make_snippet"]
