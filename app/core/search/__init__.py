"""Message search: a query language (query.py), exact substring matching of normalised text
(text.py), a tantivy index beside the archive kept current from the search journal (index.py,
journal.py), and :class:`SearchService`, what the GUI and the CLI call (service.py)."""

from .index import IndexBusy, IndexFollower, default_index_dir
from .model import ORDERS, SearchHit, SearchQuery
from .query import SYNTAX_HELP, QueryError, parse_query
from .service import SearchIndexError, SearchService

__all__ = ["ORDERS", "IndexBusy", "IndexFollower", "QueryError", "SearchHit", "SearchIndexError", "SearchQuery",
           "SearchService", "SYNTAX_HELP", "default_index_dir", "parse_query"]
