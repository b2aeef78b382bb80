"""The search box's history: the last distinct queries, kept across restarts in a small JSON file
in the config folder (never in the archive database, which a team may share)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from app.core.files import write_atomic

log = logging.getLogger(__name__)

HISTORY_FILE = "search_history.json"
HISTORY_LIMIT = 20
_VERSION = 1


class SearchHistory:
    """Queries, most recent first, at most ``limit``, each once. Not thread-safe: the GUI thread
    owns it. A missing or unreadable file is an empty history; a failed write is logged, and the
    history still works for this session."""

    def __init__(self, path: str | os.PathLike[str], limit: int = HISTORY_LIMIT):
        self.path = Path(path)
        self.limit = limit
        self._queries = self._load()

    @classmethod
    def in_config_dir(cls, config_dir: str | os.PathLike[str]) -> SearchHistory:
        return cls(Path(config_dir) / HISTORY_FILE)

    @property
    def queries(self) -> list[str]:
        return list(self._queries)

    def add(self, query: str) -> bool:
        """Put ``query`` first (moving it up if it was there). Returns whether the list changed."""
        query = query.strip()
        if not query:
            return False
        updated = [query, *(q for q in self._queries if q != query)][:self.limit]
        if updated == self._queries:
            return False
        self._queries = updated
        self._save()
        return True

    def clear(self) -> None:
        self._queries = []
        self._save()

    def _load(self) -> list[str]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("search history %s is unreadable, starting empty: %s", self.path, exc)
            return []
        queries = raw.get("queries") if isinstance(raw, dict) else None
        if not isinstance(queries, list):
            log.warning("search history %s has no list of queries, starting empty", self.path)
            return []
        out: list[str] = []
        for q in queries:
            if isinstance(q, str) and q.strip() and q.strip() not in out:
                out.append(q.strip())
        return out[:self.limit]

    def _save(self) -> None:
        data = json.dumps({"version": _VERSION, "queries": self._queries}, ensure_ascii=False, indent=1)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, data.encode("utf-8"))
        except OSError as exc:
            log.warning("cannot save the search history to %s: %s", self.path, exc)
