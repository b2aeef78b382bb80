"""Saved searches: a named query (the search language, filters included), private to its owner or
shared with every reviewer, run from a list with its hit count now and its new hits since the
reader last ran it.

"New since I last ran it" is exact: running a search keeps the search journal's heads of that
moment (per reader), and the new hits are the query's hits among the messages journaled after them
(stored, or changed by a recall, since). Saving, changing, sharing and deleting need
``review.write`` and are recorded (``review.search``); only the owner changes or deletes a search.
Running one is a search (``search.run``, recorded as a search with its query, like any other).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.auth.errors import PermissionDenied
from app.core.search import journal as jr
from app.core.search.query import QueryError, parse_query
from app.core.store.db import now_ms

from . import tables as T
from .common import MAX_NAME, Base, ReviewError, check_text, fold, reviewer_key

MAX_NEW_IDS = 2_000_000  # messages since a last run that "new hits" still counts exactly


@dataclass(frozen=True)
class SavedSearchRow:
    id: int
    name: str
    query: str
    owner: str
    mine: bool
    shared: bool
    created_at: int
    updated_at: int
    last_run_at: int | None  # when the reader last ran it
    last_hits: int | None


@dataclass(frozen=True)
class SearchCounts:
    hits: int
    new: int | None  # hits among messages stored since the reader's last run; None if never run


class SavedSearchService(Base):
    """Saved searches (see the module docstring). Thread-safe; call off the GUI thread."""

    def list(self, actor: Actor) -> list[SavedSearchRow]:
        """The actor's searches and those shared by others, by name (``review.read``)."""
        self._read(actor, "saved searches")
        s, r = T.saved_searches.c, T.search_runs.c
        key = reviewer_key(actor)
        with self._reading() as conn:
            runs = {x.search_id: x for x in conn.execute(select(T.search_runs).where(r.runner_key == key))}
            rows = conn.execute(select(T.saved_searches).where(
                s.deleted_at.is_(None), or_(s.owner_key == key, s.shared.is_(True)))).all()
        out = [self._row(x, key, runs.get(x.id)) for x in rows]
        out.sort(key=lambda x: (not x.mine, fold(x.name), x.id))
        return out

    def find(self, actor: Actor, name_or_id: str | int) -> SavedSearchRow:
        rows = self.list(actor)
        for x in rows:
            if str(x.id) == str(name_or_id):
                return x
        matches = [x for x in rows if fold(x.name) == fold(str(name_or_id))]
        if not matches:
            raise ReviewError(f"there is no saved search '{name_or_id}' of yours or shared with you",
                              f"没有您自己的或共享给您的已保存搜索“{name_or_id}”")
        return next((x for x in matches if x.mine), matches[0])

    @staticmethod
    def _row(x, key: str, run) -> SavedSearchRow:
        return SavedSearchRow(x.id, x.name, x.query, x.owner, x.owner_key == key, bool(x.shared), x.created_at,
                              x.updated_at, run.run_at if run else None, run.hits if run else None)

    def save(self, actor: Actor, name: str, query: str, *, shared: bool = False) -> SavedSearchRow:
        """Save ``query`` as ``name`` (names are unique per owner)."""
        name = check_text(name, ("search's name", "搜索名称"), limit=MAX_NAME)
        query = self._query(query)
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_SEARCH, "saved search", name)
        key = reviewer_key(actor)
        s = T.saved_searches.c
        with self._write() as conn:
            if any(fold(n) == fold(name) for n in conn.execute(select(s.name).where(
                    s.owner_key == key, s.deleted_at.is_(None))).scalars()):
                raise ReviewError(f"you have a saved search named '{name}' already: choose another name",
                                  f"您已有名为“{name}”的已保存搜索：请换一个名称")
            sid, now = self.db.ids.next_id(), now_ms()
            conn.execute(insert(T.saved_searches).values(id=sid, owner_key=key, owner=actor.username, name=name,
                                                         query=query, shared=shared, created_at=now, updated_at=now))
            self.trail.record(actor, Action.REVIEW_SEARCH, object_type="saved search", object=name,
                              detail={"change": "save", "id": sid, "query": query, "shared": shared}, conn=conn)
        return self.find(actor, sid)

    def update(self, actor: Actor, name_or_id: str | int, *, name: str | None = None, query: str | None = None,
               shared: bool | None = None) -> SavedSearchRow:
        """Rename, change the query of, share or unshare one's own saved search."""
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_SEARCH, "saved search", str(name_or_id))
        current = self._own(actor, name_or_id)
        values: dict = {}
        if name is not None and name.strip() != current.name:
            values["name"] = check_text(name, ("search's name", "搜索名称"), limit=MAX_NAME)
        if query is not None and query.strip() != current.query:
            values["query"] = self._query(query)
        if shared is not None and shared != current.shared:
            values["shared"] = shared
        if not values:
            return current
        s = T.saved_searches.c
        with self._write() as conn:
            if "name" in values and any(fold(n) == fold(values["name"]) for n in conn.execute(select(s.name).where(
                    s.owner_key == reviewer_key(actor), s.deleted_at.is_(None), s.id != current.id)).scalars()):
                raise ReviewError(f"you have a saved search named '{values['name']}' already: choose another name",
                                  f"您已有名为“{values['name']}”的已保存搜索：请换一个名称")
            conn.execute(update(T.saved_searches).where(s.id == current.id).values(updated_at=now_ms(), **values))
            self.trail.record(actor, Action.REVIEW_SEARCH, object_type="saved search", object=current.name,
                              detail={"change": "share" if set(values) == {"shared"} else "update", "id": current.id,
                                      **{k: f"{getattr(current, k)} -> {v}" for k, v in values.items()}}, conn=conn)
        return self.find(actor, current.id)

    def delete(self, actor: Actor, name_or_id: str | int) -> None:
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_SEARCH, "saved search", str(name_or_id))
        current = self._own(actor, name_or_id)
        with self._write() as conn:
            conn.execute(update(T.saved_searches).where(T.saved_searches.c.id == current.id).values(deleted_at=now_ms()))
            self.trail.record(actor, Action.REVIEW_SEARCH, object_type="saved search", object=current.name,
                              detail={"change": "delete", "id": current.id, "query": current.query}, conn=conn)

    def _own(self, actor: Actor, name_or_id: str | int) -> SavedSearchRow:
        row = self.find(actor, name_or_id)
        if not row.mine:
            error = PermissionDenied(f"the saved search '{row.name}' is {row.owner}'s: only its owner may change it",
                                     f"已保存搜索“{row.name}”属于 {row.owner}：只有其所有者可以修改",
                                     username=actor.username, permission=R.REVIEW_WRITE)
            self.trail.refuse(actor, Action.REVIEW_SEARCH, error, object_type="saved search", object=row.name)
        return row

    @staticmethod
    def _query(query: str) -> str:
        query = check_text(query, ("query", "查询"), limit=2000)
        try:
            parse_query(query)
        except QueryError as exc:
            raise ReviewError(f"the query is wrong at character {exc.position + 1}: {exc.message}",
                              f"查询在第 {exc.position + 1} 个字符处有误：{exc.message}") from None
        return query

    # ------------------------------------------------------------------ running
    def counts(self, actor: Actor, name_or_id: str | int, search) -> SearchCounts:
        """Hits now and new hits since the actor last ran it (``search``: the SearchService)."""
        row = self.find(actor, name_or_id)
        total = search.query_count(actor, row.query)
        r = T.search_runs.c
        with self._reading() as conn:
            run = conn.execute(select(r.heads).where(r.search_id == row.id, r.runner_key == reviewer_key(actor))).first()
            if run is None:
                return SearchCounts(total, None)
            then = {int(k): v for k, v in json.loads(run.heads or "{}").items()}
            ids: set[int] = set()
            for corp, head in jr.heads(conn).items():
                if head > then.get(corp, 0):
                    entries = jr.read_entries(conn, corp, then.get(corp, 0), head)
                    ids.update(entries.all)
                    if len(ids) > MAX_NEW_IDS:
                        return SearchCounts(total, None)
        return SearchCounts(total, search.query_count(actor, row.query, only_ids=ids) if ids else 0)

    def run(self, actor: Actor, name_or_id: str | int, search, *, limit: int = 50, order: str = "newest"):
        """The first page of hits (a recorded search), and remember this run for "new since"."""
        row = self.find(actor, name_or_id)
        with self._reading() as conn:
            heads = jr.heads(conn)
        hits = search.query(actor, row.query, limit=limit, order=order, record=True)
        total = search.query_count(actor, row.query)
        self._remember(actor, row, heads, total)
        return row, hits, total

    def remember_run(self, actor: Actor, name_or_id: str | int, search) -> tuple[SavedSearchRow, int]:
        """Remember that the actor runs the search now ("new since" starts again from here) and
        return it with its hit count, without running it: for a caller that shows the hits itself
        (the window's search panel, whose search is the one recorded)."""
        row = self.find(actor, name_or_id)
        with self._reading() as conn:
            heads = jr.heads(conn)
        total = search.query_count(actor, row.query)
        self._remember(actor, row, heads, total)
        return row, total

    def _remember(self, actor: Actor, row: SavedSearchRow, heads: dict[int, int], total: int) -> None:
        r = T.search_runs.c
        key = reviewer_key(actor)
        with self._write() as conn:
            values = {"run_at": now_ms(), "heads": json.dumps({str(c): n for c, n in heads.items()}), "hits": total}
            if conn.execute(update(T.search_runs).where(r.search_id == row.id, r.runner_key == key)
                            .values(**values)).rowcount == 0:
                conn.execute(insert(T.search_runs).values(search_id=row.id, runner_key=key, **values))
