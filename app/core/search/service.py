"""Search over the archive: the query language (``query``/``query_count``), the search panel's
filters (``search``/``count``), and the index's upkeep (``catch_up``/``reindex``).

Every search answers from one consistent view: the index snapshot, plus the messages the journal
added or changed after that snapshot's marks, which are fetched and matched in Python (usually a
batch or two; the messages a recall changed are taken out of the index's answer and matched here
with their new state). So a search never misses a committed message, whoever is indexing. Before
searching, this process brings the index up to date itself when nobody else is writing it.

Who may search: every search needs ``search.run`` (the reviewer role) and finds only messages of
sessions in the actor's scope — the scope's sessions are a filter *inside* the query (the index's
and the journal tail's alike), so pages and counts stay exact. A refusal raises PermissionDenied
and is recorded; a search a person starts is recorded once (``record=True`` on its first page, with
the query text), its further pages and counts are not.

Methods may take seconds the first time on a large archive (the index is built then); call them
off the GUI thread. They are thread-safe.

Limits: a page holds at most MAX_PAGE hits (ValueError beyond); queries are limited by query.py.
An index folder that cannot be opened raises SearchIndexError (one sentence with the path); one
that cannot be *updated* (read-only, disk full) only logs a warning: the search then covers the
messages the index lacks from the journal, so its answer stays exact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import tantivy
from sqlalchemy import select

from app.core.actor import Actor
from app.core.archive import _MESSAGE_COLUMNS, _message_row
from app.core.auth import roles as R
from app.core.auth.audit import FAILED, Action, AuditTrail, ms_iso
from app.core.auth.scope import session_keys_in_scope
from app.core.store.db import Database
from app.core.store.models import Message

from . import journal as jr
from .evaluate import Candidate, matches
from .index import (
    BUCKET_SHIFT,
    IndexBusy,
    Progress,
    SearchIndex,
    Snapshot,
    default_index_dir,
    index_for,
    session_key,
)
from .model import ORDERS, SearchHit, SearchQuery
from .query import (
    MAX_QUERY_CHARS,
    And,
    DateRange,
    Field,
    Node,
    Not,
    Or,
    QueryError,
    Text,
    has_review_terms,
    is_review_term,
    parse_query,
    positive_texts,
)
from .text import match_spans, normalise

log = logging.getLogger(__name__)

_CHUNK = 500
MAX_PAGE = 1_000_000  # hits one call returns (tantivy sizes its top-k collector by it)


class SearchIndexError(RuntimeError):
    """The search index folder cannot be opened or rebuilt; the message names it and what to do."""

    def __init__(self, path: Path, exc: BaseException, doing: str = "opened"):
        if isinstance(exc, OSError):
            reason = exc.strerror or type(exc).__name__
        else:  # tantivy's errors name files and folders, never message text
            reason = " ".join(str(exc).split())[:300]
        super().__init__(f"the search index at {path} cannot be {doing} ({reason}): make that folder "
                         f"writable and free disk space there, or remove the folder and run "
                         f"`wecom-auditor reindex` to build it again")
        self.path = path


# (database, query tree, reader, query text) -> the tree with its review terms answered
ReviewTerms = Callable[[Database, Node, Actor, str], Node]


def _first_review_term(node: Node) -> Field | None:
    if isinstance(node, Field):
        return node if is_review_term(node) else None
    for item in node.items if isinstance(node, And | Or) else (node.item,) if isinstance(node, Not) else ():
        found = _first_review_term(item)
        if found is not None:
            return found
    return None


def _recorded(text: str) -> str:
    """A query as the audit trail records it: in full up to the query length limit."""
    if len(text) <= MAX_QUERY_CHARS:
        return text
    return f"{text[:MAX_QUERY_CHARS]}… ({len(text):,} characters)"
_TIE_LIMIT = 200  # first try for "every hit at this msgtime" (ties are few); more if counted


@dataclass
class _Key:
    """Where a hit sorts: (msgtime, id) and the session key."""

    msgtime: int
    id: int
    skey: int


@dataclass
class _View:
    snap: Snapshot | None  # None: no usable index yet (a full scan answers)
    tail: list[tuple[int, Candidate]] = field(default_factory=list)  # (corp_id, candidate)
    stale: set[int] = field(default_factory=set)  # ids the snapshot has in an outdated state


def _sort_key(order: str):
    if order == "oldest":
        return lambda k: (k.msgtime, k.id)
    if order == "session":
        return lambda k: (k.skey, -k.msgtime, -k.id)
    return lambda k: (-k.msgtime, -k.id)


def _after_cursor(order: str, before: tuple | None):
    """A predicate: does a key come after the cursor in this order."""
    if before is None:
        return lambda k: True
    if order == "session":
        sid, t, i = before
        s = session_key(sid or None)
        return lambda k: (k.skey, -k.msgtime, -k.id) > (s, -t, -i)
    t, i = before
    if order == "oldest":
        return lambda k: (k.msgtime, k.id) > (t, i)
    return lambda k: (k.msgtime, k.id) < (t, i)


class _Scope:
    """Which messages an actor may find: those of its sessions (``keys``: (corp_id, session_id);
    None = every message) and, for a message without a session, those its ``senders`` sent."""

    def __init__(self, keys: set[tuple[int, str]] | None, senders: frozenset[str] = frozenset()):
        self.keys = keys
        self.senders = senders

    @property
    def unlimited(self) -> bool:
        return self.keys is None

    @property
    def empty(self) -> bool:
        return self.keys is not None and not self.keys and not self.senders

    def allows(self, corp_id: int, c: Candidate) -> bool:
        if self.keys is None:
            return True
        if c.session_id:
            return (corp_id, c.session_id) in self.keys
        return c.sender in self.senders

    def query(self, index: SearchIndex) -> tantivy.Query | None:
        """A clause keeping the documents in scope (None when unlimited): per corp, its ``c`` token
        and one of its sessions' ``i`` tokens; sessionless documents (skey -1) by sender."""
        if self.keys is None:
            return None
        Q, Occ = tantivy.Query, tantivy.Occur
        by_corp: dict[int, list[str]] = {}
        for corp, sid in self.keys:
            by_corp.setdefault(corp, []).append(f"i{sid}")
        either = [(Occ.Should, Q.boolean_query([(Occ.Must, index.term("f", f"c{corp}")),
                                                (Occ.Must, Q.term_set_query(index.schema, "f", sorted(terms)))]))
                  for corp, terms in sorted(by_corp.items())]
        if self.senders:
            sessionless = Q.range_query(index.schema, "skey", tantivy.FieldType.Integer, -1, -1)
            either.append((Occ.Should, Q.boolean_query([
                (Occ.Must, sessionless),
                (Occ.Must, Q.term_set_query(index.schema, "f", sorted(f"s{u}" for u in self.senders)))])))
        return Q.boolean_query(either)


def describe_query(q: SearchQuery) -> str:
    """The panel's filters as one line for the audit trail, e.g. ``"合同" from:zhangsan type:text``."""
    parts = []
    if q.keyword:
        parts.append('"' + q.keyword.replace("\\", "\\\\").replace('"', '\\"') + '"')
    for name, value in (("from", q.sender), ("type", q.msgtype), ("session", q.session_type), ("in", q.session_id)):
        if value:
            parts.append(f"{name}:{value}")
    if q.start_ms is not None:
        parts.append(f"from:{ms_iso(q.start_ms)}")
    if q.end_ms is not None:
        parts.append(f"until:{ms_iso(q.end_ms)}")
    return " ".join(parts) or "(everything)"


def node_of(q: SearchQuery) -> Node:
    """The search panel's filters as a query tree (the keyword is one substring, spaces included)."""
    items: list[Node] = []
    if q.keyword:
        items.append(Text(q.keyword, normalise(q.keyword), phrase=True))
    if q.start_ms is not None or q.end_ms is not None:
        items.append(DateRange(q.start_ms, q.end_ms))
    for name, value in (("from", q.sender), ("type", q.msgtype), ("session", q.session_type),
                        ("in", q.session_id)):
        if value:
            items.append(Field(name, value))
    return And(tuple(items)) if items else And((DateRange(None, None),))


class SearchService:
    """Search of one archive database. ``index_dir``: where this workstation keeps the index
    (default: beside a SQLite file, or under the data folder for MySQL); ``tz``: the time zone of
    dates in queries (default: local)."""

    def __init__(self, db: Database, *, index_dir: str | Path | None = None, tz: tzinfo | None = None,
                 trail: AuditTrail | None = None, review_terms: ReviewTerms | None = None):
        """``review_terms``: what answers tag:, status: … from the review tables
        (app.core.review.facts.resolve_review_terms, handed in by whoever composes the services:
        the review sits above search); without it such a query is refused."""
        self.db = db
        self.review_terms = review_terms
        self.trail = trail or AuditTrail(db)
        self.tz = tz
        self._index_dir = Path(index_dir) if index_dir is not None else None
        self._index: SearchIndex | None = None

    @property
    def index(self) -> SearchIndex:
        """The index (opened on first use); SearchIndexError if its folder cannot be opened."""
        if self._index is None:
            path = self._index_dir or default_index_dir(self.db)
            try:
                self._index = index_for(path)
            except (OSError, ValueError) as exc:
                raise SearchIndexError(path, exc) from None
        return self._index

    # ------------------------------------------------------------------ the query language
    def parse(self, text: str) -> Node:
        """The query's tree; raises QueryError with the position of the mistake."""
        return parse_query(text, tz=self.tz)

    def _resolve(self, node: Node, actor: Actor, text: str) -> Node:
        """``node`` with its review terms (tag:, status: …) answered from the review tables now;
        QueryError (with the position) for an unknown tag, policy or account."""
        if not has_review_terms(node):
            return node
        if self.review_terms is None:
            term = _first_review_term(node)
            raise QueryError("review terms (tag:, status:, reviewed:, alert:, policy:, has:note|tag|alert) "
                             "are not available here", term.pos if term else 0, text)
        return self.review_terms(self.db, node, actor, text)

    def query(self, actor: Actor, text: str, *, limit: int = 50, before: tuple | None = None,
              order: str = "newest", corp_id: int | None = None, record: bool = False) -> list[SearchHit]:
        """One page of hits of a query (see query.py for the language), in ``order``: "newest"
        (default), "oldest" or "session" (by conversation, newest first within one), among the
        messages in the actor's scope. Pass ``hits[-1].cursor(order)`` as ``before`` for the next page.

        ``record=True`` (the first page of a search a person started; not further pages, nor a
        search run on someone's behalf such as an export's) records a ``search`` entry with the
        query text — outcome failed for a malformed query. Raises QueryError, and PermissionDenied
        (recorded) without ``search.run``."""
        self._require(actor, text)
        try:
            node = self._resolve(self.parse(text), actor, text)
        except QueryError as exc:
            if record:
                self.trail.record(actor, Action.SEARCH, object_type="query", object=_recorded(text), outcome=FAILED,
                                  detail={"error": exc.message, "position": exc.position})
            raise
        hits = self._page(node, limit=limit, before=before, order=order, corp_id=corp_id, scope=self._scope(actor))
        if record:
            self._record(actor, text, hits, order=order, corp_id=corp_id)
        return hits

    def query_count(self, actor: Actor, text: str, *, corp_id: int | None = None,
                    only_ids: Collection[int] | None = None) -> int:
        """The exact number of messages in the actor's scope the query matches (not recorded);
        with ``only_ids``, among those messages only (a saved search's new hits).
        Raises QueryError; PermissionDenied (recorded) without ``search.run``."""
        self._require(actor, text)
        return self._count(self._resolve(self.parse(text), actor, text), corp_id, self._scope(actor),
                           None if only_ids is None else frozenset(only_ids))

    # ------------------------------------------------------------------ the panel's filters
    def search(self, actor: Actor, query: SearchQuery, *, limit: int = 50,
               before: tuple[int, int] | None = None, record: bool = False) -> list[SearchHit]:
        """Newest first; pass the (msgtime, id) of the last hit as ``before`` for the next page.
        ``record``, scope and permission as for :meth:`query` (the entry's object is
        :func:`describe_query`)."""
        text = describe_query(query)
        self._require(actor, text)
        hits = self._page(node_of(query), limit=limit, before=before, order="newest", corp_id=query.corp_id,
                          scope=self._scope(actor))
        if record:
            self._record(actor, text, hits, order="newest", corp_id=query.corp_id)
        return hits

    def count(self, actor: Actor, query: SearchQuery) -> int:
        self._require(actor, describe_query(query))
        return self._count(node_of(query), query.corp_id, self._scope(actor))

    # ------------------------------------------------------------------ permission, scope, record
    def _require(self, actor: Actor, text: str) -> None:
        self.trail.require(actor, R.SEARCH_RUN, action=Action.SEARCH, object_type="query", object=_recorded(text))

    def _scope(self, actor: Actor) -> _Scope:
        if actor.scope is None:
            return _Scope(None)
        return _Scope(session_keys_in_scope(self.db, actor.scope) or set(), actor.scope)

    def _record(self, actor: Actor, text: str, hits: list[SearchHit], *, order: str, corp_id: int | None) -> None:
        detail = {"order": order, "first_page_hits": len(hits), "scoped": actor.scope is not None}
        if corp_id is not None:
            detail["corp_id"] = corp_id
        self.trail.record(actor, Action.SEARCH, object_type="query", object=_recorded(text), detail=detail)

    # ------------------------------------------------------------------ upkeep
    def catch_up(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> int:
        """Index what was stored since the index's last update (everything, the first time).
        Returns the number of messages indexed; raises IndexBusy if another process is at it."""
        return self.index.catch_up(self.db, progress=progress, cancel=cancel, blocking=True)

    def reindex(self, actor: Actor, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                *, only_new: bool = False) -> int:
        """Rebuild the index from every stored message (``progress(done, total)``) — or with
        ``only_new`` just :meth:`catch_up`. Searches keep using the previous index until the new
        one is complete. Returns the messages indexed.

        Maintenance: needs ``sync.run`` (PermissionDenied, recorded, otherwise) and records
        ``index.rebuild``. (The automatic :meth:`catch_up` every search does is not recorded.)"""
        what = "catch up" if only_new else "rebuild"
        self.trail.require(actor, R.SYNC_RUN, action=Action.INDEX_REBUILD, object_type="index", object=what)
        try:
            if only_new:
                n = self.catch_up(progress=progress, cancel=cancel)
            else:
                n = self.index.rebuild(self.db, progress=progress, cancel=cancel)
        except (OSError, ValueError) as exc:
            raise SearchIndexError(self.index.path, exc, "written") from None
        self.trail.record(actor, Action.INDEX_REBUILD, object_type="index", object=what, detail={"messages": n})
        return n

    # ------------------------------------------------------------------ internals
    def _view(self) -> _View:
        idx = self.index
        snap, heads, work = idx.pending(self.db)
        if work:
            try:
                idx.catch_up(self.db)
                snap, heads, _ = idx.pending(self.db)
            except IndexBusy:
                pass  # another thread or process is writing: the journal tail covers the difference
            except (OSError, ValueError) as exc:  # read-only folder, full disk: the tail covers it too
                log.warning("the search index at %s could not be updated (%s); searching the messages it "
                            "lacks directly", idx.path, type(exc).__name__ if not isinstance(exc, OSError)
                            else exc.strerror)
        if not snap.built:
            return _View(None)
        view = _View(snap)
        with self.db.read() as conn:
            ids: list[int] = []
            for corp, head in heads.items():
                if head > snap.hwm.get(corp, 0):
                    entries = jr.read_entries(conn, corp, snap.hwm.get(corp, 0), head)
                    ids.extend(entries.all)
                    view.stale.update(entries.changed)
            for rows in self._rows_by_id(conn, sorted(set(ids))):
                view.tail.extend((r.corp_id, _candidate(r)) for r in rows)
        return view

    @staticmethod
    def _rows_by_id(conn, ids: list[int]):
        cols = (Message.id, Message.corp_id, Message.msgtime, Message.sender, Message.tolist, Message.roomid,
                Message.msgtype, Message.session_id, Message.session_type, Message.has_media,
                Message.recalled_at, Message.content_text)
        for i in range(0, len(ids), _CHUNK):
            yield conn.execute(select(*cols).where(Message.id.in_(ids[i:i + _CHUNK]))).all()

    def _tail_keys(self, view: _View, node: Node, corp_id: int | None, scope: _Scope) -> list[_Key]:
        return [_Key(c.msgtime, c.id, session_key(c.session_id or None)) for corp, c in view.tail
                if (corp_id is None or corp == corp_id) and scope.allows(corp, c) and matches(node, c)]

    def _count(self, node: Node, corp_id: int | None, scope: _Scope, only_ids: frozenset[int] | None = None) -> int:
        if scope.empty or (only_ids is not None and not only_ids):
            return 0
        view = self._view()
        if view.snap is None:
            return len([k for k in self._scan(node, corp_id, scope) if only_ids is None or k.id in only_ids])
        extra = () if scope.unlimited else (scope.query(self.index),)
        if only_ids is not None:
            extra += (tantivy.Query.term_set_query(self.index.schema, "id", sorted(only_ids)),)
        q = self.index.messages_query(node, corp_id=corp_id, exclude_ids=view.stale, extra=extra)
        return (view.snap.searcher.search(q, limit=1, count=True).count
                + len([k for k in self._tail_keys(view, node, corp_id, scope) if only_ids is None or k.id in only_ids]))

    def _page(self, node: Node, *, limit: int, before: tuple | None, order: str,
              corp_id: int | None, scope: _Scope) -> list[SearchHit]:
        if order not in ORDERS:
            raise QueryError(f"unknown order '{order}': use one of {', '.join(ORDERS)}", 0)
        if limit > MAX_PAGE:
            raise ValueError(f"a page holds at most {MAX_PAGE:,} hits, not {limit:,}")
        if limit < 1 or scope.empty:
            return []
        view = self._view()
        after = _after_cursor(order, before)
        if view.snap is None:
            keys = [k for k in self._scan(node, corp_id, scope) if after(k)]
        else:
            keys = [k for k in self._tail_keys(view, node, corp_id, scope) if after(k)]
            keys += _IndexPager(self.index, view, node, corp_id, scope).page(order, limit, before)
        keys.sort(key=_sort_key(order))
        keys = keys[:limit]
        rows = {}
        with self.db.read() as conn:
            ids = [k.id for k in keys]
            for i in range(0, len(ids), _CHUNK):
                for r in conn.execute(select(*_MESSAGE_COLUMNS).where(Message.id.in_(ids[i:i + _CHUNK]))):
                    rows[r.id] = _message_row(r)
        needles = positive_texts(node)
        return [SearchHit(rows[k.id], match_spans(rows[k.id].content_text, needles)) for k in keys if k.id in rows]

    def _scan(self, node: Node, corp_id: int | None, scope: _Scope) -> list[_Key]:
        """Every match by reading every message: the answer while no index exists yet (another
        process is building it). Exact, and slow on large archives."""
        out, last = [], None
        cols = (Message.id, Message.corp_id, Message.msgtime, Message.sender, Message.tolist, Message.roomid,
                Message.msgtype, Message.session_id, Message.session_type, Message.has_media,
                Message.recalled_at, Message.content_text)
        while True:
            stmt = select(*cols).order_by(Message.id).limit(5000)
            if last is not None:
                stmt = stmt.where(Message.id > last)
            if corp_id is not None:
                stmt = stmt.where(Message.corp_id == corp_id)
            with self.db.read() as conn:
                rows = conn.execute(stmt).all()
            if not rows:
                return out
            last = rows[-1].id
            for r in rows:
                c = _candidate(r)
                if scope.allows(r.corp_id, c) and matches(node, c):
                    out.append(_Key(c.msgtime, c.id, session_key(c.session_id or None)))


def _candidate(r) -> Candidate:
    import json

    return Candidate(id=r.id, corp_id=r.corp_id, msgtime=r.msgtime, sender=r.sender, tolist=json.loads(r.tolist or "[]"),
                     session_id=r.session_id, roomid=r.roomid, msgtype=r.msgtype, session_type=r.session_type,
                     has_media=r.has_media, recalled=r.recalled_at is not None, content_text=r.content_text)


def _date_bounds(node: Node) -> tuple[int | None, int | None]:
    """The [start, end) every hit's msgtime must lie in, from date filters ANDed at the top."""
    items = node.items if isinstance(node, And) else (node,)
    lo = hi = None
    for item in items:
        if isinstance(item, DateRange):
            if item.start_ms is not None:
                lo = item.start_ms if lo is None else max(lo, item.start_ms)
            if item.end_ms is not None:
                hi = item.end_ms if hi is None else min(hi, item.end_ms)
    return lo, hi


class _IndexPager:
    """The first ``limit`` index hits after a cursor, in an order, exact also where msgtimes tie."""

    def __init__(self, index: SearchIndex, view: _View, node: Node, corp_id: int | None, scope: _Scope):
        self.index, self.searcher = index, view.snap.searcher
        self.node, self.corp_id, self.stale = node, corp_id, view.stale
        # The scope is a clause of every query here, so that each page and tie-break is exact.
        self.base: tuple[tantivy.Query, ...] = () if scope.unlimited else (scope.query(index),)

    def _q(self, *extra) -> tantivy.Query:
        return self.index.messages_query(self.node, corp_id=self.corp_id, exclude_ids=self.stale,
                                         extra=(*self.base, *extra))

    def _range(self, name: str, lo: int | None, hi: int | None) -> tantivy.Query:
        return tantivy.Query.range_query(self.index.schema, name, tantivy.FieldType.Integer, lo, hi)

    def _keys(self, res) -> list[_Key]:
        addrs = [a for _, a in res.hits]
        if not addrs:
            return []
        s = self.searcher
        return [_Key(t, i, k) for t, i, k in zip(s.fast_field_values("msgtime", addrs),
                                                  s.fast_field_values("id", addrs),
                                                  s.fast_field_values("skey", addrs), strict=True)]

    def _all(self, q: tantivy.Query) -> list[_Key]:
        res = self.searcher.search(q, limit=_TIE_LIMIT, count=True)
        if res.count > len(res.hits):
            res = self.searcher.search(q, limit=res.count, count=False)
        return self._keys(res)

    def page(self, order: str, limit: int, before: tuple | None, extra: tuple = ()) -> list[_Key]:
        """Newest (oldest) first: tried in the newest (oldest) time buckets first, 1, 4, 16 ...
        of them, since every hit in a newer bucket comes before every hit in an older one; a
        frequent term then never walks its whole posting list for one page."""
        if order == "session":
            return self._session_page(limit, before)
        desc = order != "oldest"
        buckets = self.index.buckets(self.searcher)
        lo, hi = _date_bounds(self.node)
        if lo is not None or hi is not None:  # only buckets the query's dates reach
            buckets = [b for b in buckets if (lo is None or b >= lo >> BUCKET_SHIFT)
                       and (hi is None or b <= (hi - 1) >> BUCKET_SHIFT)]
        if before is not None:
            edge = before[0] >> BUCKET_SHIFT
            buckets = [b for b in buckets if (b <= edge if desc else b >= edge)]
        if desc:
            buckets.reverse()
        k = 1
        while k < len(buckets) // 2:
            window = tantivy.Query.term_set_query(self.index.schema, "f", [f"w{b}" for b in buckets[:k]])
            keys = self._page(desc, limit, before, (*extra, window))
            if len(keys) >= limit:
                return keys
            k *= 4
        return self._page(desc, limit, before, extra)

    def _page(self, desc: bool, limit: int, before: tuple | None, extra: tuple) -> list[_Key]:
        out: list[_Key] = []
        if before is not None:
            t0, id0 = before
            ties = self._all(self._q(*extra, self._range("msgtime", t0, t0)))
            out += [k for k in ties if (k.id < id0 if desc else k.id > id0)]
            rest = self._q(*extra, self._range("msgtime", None, t0 - 1) if desc
                           else self._range("msgtime", t0 + 1, None))
        else:
            rest = self._q(*extra)
        res = self.searcher.search(rest, limit=limit + 1, count=False, order_by_field="msgtime",
                                   order=tantivy.Order.Desc if desc else tantivy.Order.Asc)
        keys = self._keys(res)
        if len(keys) > limit and keys[limit].msgtime == keys[limit - 1].msgtime:
            # Hits tied on the last msgtime continue past the page and were cut arbitrarily: take
            # them all (when the hit after the page has another msgtime, every tie is already in).
            edge = keys[limit - 1].msgtime
            keys = [k for k in keys if k.msgtime != edge]
            keys += self._all(self._q(*extra, self._range("msgtime", edge, edge)))
        out += keys
        out.sort(key=_sort_key("oldest" if not desc else "newest"))
        return out[:limit]

    def _session_page(self, limit: int, before: tuple | None) -> list[_Key]:
        out: list[_Key] = []
        current: int | None = None
        if before is not None:
            sid, t0, id0 = before
            current = session_key(sid or None)
            out += self.page("newest", limit, (t0, id0), (self._range("skey", current, current),))
        while len(out) < limit:
            q = self._q(self._range("skey", current + 1, None)) if current is not None else self._q()
            res = self.searcher.search(q, limit=1, count=False, order_by_field="skey", order=tantivy.Order.Asc)
            nxt = self._keys(res)
            if not nxt:
                break
            current = nxt[0].skey
            out += self.page("newest", limit - len(out), None, (self._range("skey", current, current),))
        return out
