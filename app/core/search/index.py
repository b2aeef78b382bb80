"""The search index: a tantivy index beside the archive, rebuildable from it at any time.

Why tantivy, and why this shape (measured on this project's 2-core box; see the README section
and ``benchmarks/bench_search.py``): a positional *bigram* field makes every term of two or more
characters an exact lookup — a 2-character term is one posting list, a longer term is a phrase of
its overlapping bigrams at consecutive positions, which matches exactly where the substring occurs
— and a *unigram* field (document ids only) answers 1-character terms. No candidate needs to be
verified against the stored text, so counts are exact and cheap. Bigrams come from the normalised
text (text.py), so Latin is case-insensitive and full-width forms match half-width ones.

Documents (one per message): ``id`` (fast, for mapping hits back to rows, and indexed, so that a
review term resolved to a set of messages is one term-set lookup) and ``msgtime`` (fast, for
ordering), ``skey`` (the session id's sort key, for ordering by conversation), ``f`` (exact
filter tokens: ``c``corp, ``s``sender, ``t``recipient, ``i``session id, ``r``roomid, ``y``msgtype,
``k``session type, ``h`` has media, ``x`` recalled, ``w`` the msgtime's ~25-day bucket: the first
page of a frequent term is looked for in the newest buckets first), ``g1`` (unigrams) and ``g2``
(bigrams).
Bookkeeping documents carry the token ``\\x00m``: ``\\x00built`` marks a finished full build and
``\\x00hwm<corp>`` holds (in ``msgtime``) the last journal number applied for that corp. They are
committed together with the documents they describe, so every searcher sees a consistent pair.

Where: beside a SQLite archive (``archive.db.search/``); for MySQL, per workstation under the data
folder. One writer at a time (tantivy's lock file): a process that finds the lock taken leaves the
catching up to its holder, and its searches cover the not yet indexed messages from the journal.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import tantivy
from sqlalchemy import func, select

from app.core.store.db import Database
from app.core.store.models import Message

from . import journal as jr
from .query import All, And, DateRange, Field, Node, Not, Or, Resolved, Text, is_review_term
from .text import bigram_text, bigrams, normalise

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 4: ``id`` indexed (review terms)
BUCKET_SHIFT = 31  # msgtime >> 31: time buckets of ~25 days, for finding the newest hits early
META = "\x00m"
BUILT = "\x00built"
SCAN_CHUNK = 5000
ROWS_CHUNK = 500
CATCH_UP_COMMIT_EVERY = 100_000  # messages; a long catch-up commits (and so resumes) in steps
# The rebuild writer's arena (tantivy fills it, then writes a segment), shared by its two threads. At
# 256 MB a rebuild of 10,000,000 messages went past 1 GiB; at 64 MB it keeps 322 MiB of its own memory
# at most (the segments it merges are memory-mapped files besides: up to 546 MiB of page cache) and
# is faster (368 s against 447 s; 1,000,000 messages: 162 MiB against 338, 33 s against 39).
REBUILD_HEAP = 64_000_000

Progress = Callable[[int, int], None]

_INDEX_COLUMNS = (Message.id, Message.corp_id, Message.msgtime, Message.sender, Message.tolist, Message.roomid,
                  Message.msgtype, Message.session_id, Message.session_type, Message.has_media,
                  Message.recalled_at, Message.content_text)


class IndexBusy(RuntimeError):
    """Another process (or thread) holds the index writer."""


def session_key(session_id: str | None) -> int:
    """An integer that sorts like the (32 hex chars) session id, from its first 40 bits (5 bytes
    a document; two sessions sharing them — about 0.5% likely among 100,000 — interleave when
    ordering by session); -1 for none."""
    if not session_id:
        return -1
    try:
        return int(session_id[:10], 16)
    except ValueError:
        return int(hashlib.md5(session_id.encode("utf-8")).hexdigest()[:10], 16)


def default_index_dir(db: Database, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Beside a SQLite archive file; for MySQL, this workstation's own copy under the data folder."""
    if db.is_sqlite and db.url.database and db.url.database != ":memory:":
        p = Path(db.url.database).resolve()
        return p.with_name(p.name + ".search")
    if data_dir is None:
        data_dir = db.local_dir
    if data_dir is None:
        from app.core.config.paths import AppPaths

        data_dir = AppPaths.resolve(None).data_dir
    u = db.url
    ident = hashlib.sha1(u.render_as_string(hide_password=True).encode("utf-8")).hexdigest()[:10]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{u.host}-{u.port or 3306}-{u.database}")
    return Path(data_dir) / "search-index" / f"{safe}-{ident}"


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    # Indexed since version 4 (~12 bytes a message): tag:, status:, alert: … resolve to message ids.
    sb.add_integer_field("id", fast=True, indexed=True)
    sb.add_integer_field("msgtime", fast=True)
    sb.add_integer_field("skey", fast=True)
    sb.add_text_field("f", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("g1", tokenizer_name="wa_unigram", index_option="basic")
    sb.add_text_field("g2", tokenizer_name="wa_bigram", index_option="position")
    return sb.build()


def _register(index: tantivy.Index) -> None:
    index.register_tokenizer("wa_unigram",
                             tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(1, 1, False)).build())
    index.register_tokenizer("wa_bigram", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())


def _doc(r) -> tantivy.Document:
    norm = normalise(r.content_text or "")
    f = [f"c{r.corp_id}", f"s{r.sender}", f"y{r.msgtype}", f"w{r.msgtime >> BUCKET_SHIFT}"]
    f.extend(f"t{t}" for t in json.loads(r.tolist or "[]") if t)
    if r.session_id:
        f.append(f"i{r.session_id}")
    if r.roomid:
        f.append(f"r{r.roomid}")
    if r.session_type:
        f.append(f"k{r.session_type}")
    if r.has_media:
        f.append("h")
    if r.recalled_at is not None:
        f.append("x")
    doc = tantivy.Document(id=r.id, msgtime=r.msgtime, skey=session_key(r.session_id), f=f)
    if norm:
        doc.add_text("g1", norm)
        if len(norm) > 1:
            doc.add_text("g2", bigram_text(norm))
    return doc


@dataclass
class Snapshot:
    """One consistent view of the index: a searcher and the journal marks its documents reflect."""

    searcher: tantivy.Searcher
    built: bool
    hwm: dict[int, int]  # corp id -> last journal number applied


class SearchIndex:
    """The tantivy index of one archive at ``path``. Use :func:`index_for` (one per process and path)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.dir = self.path / f"v{SCHEMA_VERSION}"
        self.schema = _schema()
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._open()

    def _open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        for old in self.path.iterdir():  # indexes of another schema version are rebuilt, not migrated
            if old.is_dir() and old.name.startswith("v") and old != self.dir:
                shutil.rmtree(old, ignore_errors=True)
        self.dir.mkdir(exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(self.dir), reuse=True)
        _register(self.index)

    # ------------------------------------------------------------------ reading
    def _reload_if_changed(self) -> None:
        try:
            st = os.stat(self.dir / "meta.json")
            stamp = (st.st_mtime, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self.index.reload()
            self._stamp = stamp

    def snapshot(self) -> Snapshot:
        with self._read_lock:
            self._reload_if_changed()
            searcher = self.index.searcher()
        built, hwm = False, {}
        res = searcher.search(self.term("f", META), limit=10_000, count=False)
        if res.hits:
            addrs = [a for _, a in res.hits]
            ids = searcher.fast_field_values("id", addrs)
            marks = searcher.fast_field_values("msgtime", addrs)
            for i, m in zip(ids, marks, strict=True):
                if i == 0:
                    built = True
                elif i is not None and i < 0:
                    hwm[-i] = m
        return Snapshot(searcher, built, hwm)

    def buckets(self, searcher: tantivy.Searcher) -> list[int]:
        """The time buckets (msgtime >> BUCKET_SHIFT) that hold documents, ascending."""
        return sorted(int(t[1:]) for t, _n in searcher.terms_with_prefix("f", "w"))

    def ids_query(self, ids: Iterable[int]) -> tantivy.Query:
        """Documents of these message ids (a few: recalled messages, a build's overlap)."""
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.range_query(self.schema, "id", tantivy.FieldType.Integer, i, i))
             for i in ids])

    def term(self, field: str, value) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value,
                                        index_option="position" if field == "g2" else "basic")

    # ------------------------------------------------------------------ compiling a query
    def compile(self, node: Node) -> tantivy.Query:
        Q, Occ = tantivy.Query, tantivy.Occur
        if isinstance(node, Text):
            n = node.norm
            if len(n) == 1:
                return self.term("g1", n)
            grams = bigrams(n)
            if len(grams) == 1:
                return self.term("g2", grams[0])
            return Q.phrase_query(self.schema, "g2", grams)
        if isinstance(node, Resolved):
            return self._resolved(node)
        if isinstance(node, Field):
            if is_review_term(node):
                raise ValueError(f"{node.name}:{node.value} must be resolved before it is compiled")
            token = {"from": "s", "to": "t", "in": "i", "room": "r", "type": "y", "session": "k"}.get(node.name)
            if token is not None:
                return self.term("f", token + node.value)
            return self.term("f", "h" if node.name == "has" else "x")
        if isinstance(node, DateRange):
            if node.start_ms is None and node.end_ms is None:
                return Q.all_query()
            return Q.range_query(self.schema, "msgtime", tantivy.FieldType.Integer, node.start_ms,
                                 None if node.end_ms is None else node.end_ms - 1)
        if isinstance(node, All):
            return Q.all_query()
        if isinstance(node, And):
            must = [self.compile(i) for i in node.items if not isinstance(i, Not)]
            must_not = [self.compile(i.item) for i in node.items if isinstance(i, Not)]
            if not must:
                must = [Q.all_query()]
            return Q.boolean_query([(Occ.Must, q) for q in must] + [(Occ.MustNot, q) for q in must_not])
        if isinstance(node, Or):
            return Q.boolean_query([(Occ.Should, self.compile(i)) for i in node.items])
        if isinstance(node, Not):
            return Q.boolean_query([(Occ.Must, Q.all_query()), (Occ.MustNot, self.compile(node.item))])
        raise TypeError(node)

    def _nothing(self) -> tantivy.Query:
        return self.term("f", "\x00nothing")  # a token no document holds

    def _key_range(self, bound: tuple[int, int], above: bool) -> tantivy.Query:
        """Documents whose (msgtime, id) is above ``bound`` (exclusive), or at most it (inclusive)."""
        Q, Occ, INT = tantivy.Query, tantivy.Occur, tantivy.FieldType.Integer
        t, i = bound
        if above:
            strictly = Q.range_query(self.schema, "msgtime", INT, t + 1, None) if t < 2**63 - 1 else self._nothing()
            tie = Q.range_query(self.schema, "id", INT, i + 1, None) if i < 2**63 - 1 else self._nothing()
        else:
            strictly = Q.range_query(self.schema, "msgtime", INT, None, t - 1) if t > -2**63 else self._nothing()
            tie = Q.range_query(self.schema, "id", INT, None, i)
        same = Q.boolean_query([(Occ.Must, Q.range_query(self.schema, "msgtime", INT, t, t)), (Occ.Must, tie)])
        return Q.boolean_query([(Occ.Should, strictly), (Occ.Should, same)])

    def _resolved(self, node: Resolved) -> tantivy.Query:
        Q, Occ = tantivy.Query, tantivy.Occur
        either = []
        if node.ids:
            either.append((Occ.Should, Q.term_set_query(self.schema, "id", sorted(node.ids))))
        stretches = []
        for corp, sid, after, upto in node.stretches:
            if not sid:
                continue  # a message without a session is named by id
            must = [(Occ.Must, self.term("f", f"c{corp}")), (Occ.Must, self.term("f", f"i{sid}"))]
            if after is not None:
                must.append((Occ.Must, self._key_range(after, True)))
            if upto is not None:
                must.append((Occ.Must, self._key_range(upto, False)))
            stretches.append((Occ.Should, Q.boolean_query(must)))
        if stretches:
            part = Q.boolean_query(stretches)
            if node.except_ids:
                part = Q.boolean_query([(Occ.Must, part), (Occ.MustNot, Q.term_set_query(
                    self.schema, "id", sorted(node.except_ids)))])
            either.append((Occ.Should, part))
        return Q.boolean_query(either) if either else self._nothing()

    def messages_query(self, node: Node, *, corp_id: int | None = None, exclude_ids: Iterable[int] = (),
                       extra: Iterable[tantivy.Query] = ()) -> tantivy.Query:
        """``node`` over message documents only (never the bookkeeping ones), minus ``exclude_ids``."""
        Q, Occ = tantivy.Query, tantivy.Occur
        clauses = [(Occ.Must, self.compile(node)), (Occ.MustNot, self.term("f", META))]
        if corp_id is not None:
            clauses.append((Occ.Must, self.term("f", f"c{corp_id}")))
        clauses.extend((Occ.Must, q) for q in extra)
        excluded = sorted(set(exclude_ids))
        if excluded:
            clauses.append((Occ.MustNot, self.ids_query(excluded)))
        return Q.boolean_query(clauses)

    # ------------------------------------------------------------------ writing
    def _writer(self, threads: int, heap: int):
        try:
            return self.index.writer(heap_size=heap, num_threads=threads)
        except ValueError as exc:
            if "lock" in str(exc).lower():
                raise IndexBusy(str(exc)) from None
            raise

    def pending(self, db: Database) -> tuple[Snapshot, dict[int, int], bool]:
        """The current snapshot, the journal heads, and whether the index has anything to do."""
        snap = self.snapshot()
        with db.read() as conn:
            heads = jr.heads(conn)
        work = (not snap.built or any(n > snap.hwm.get(c, 0) for c, n in heads.items())
                or any(n > heads.get(c, 0) for c, n in snap.hwm.items()))
        return snap, heads, work

    def catch_up(self, db: Database, *, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                 blocking: bool = False) -> int:
        """Index what the journal added since this index's marks (a full build if there is no index
        yet, or if the archive behind it was replaced). Returns the number of messages indexed.

        Raises IndexBusy when another process or thread is writing (with ``blocking``, waits for
        a thread of this process but still raises for another process)."""
        if not self.pending(db)[2]:
            return 0
        if not self._write_lock.acquire(blocking=blocking):
            raise IndexBusy("another thread is updating the search index")
        try:
            writer = self._writer(1, 64_000_000)
            try:
                snap = self.snapshot()
                with db.read() as conn:
                    heads = jr.heads(conn)
                if not snap.built or any(n > heads.get(c, 0) for c, n in snap.hwm.items()):
                    return self._build(db, writer, progress, cancel)
                return self._apply_journal(db, writer, snap.hwm, heads, progress, cancel)
            finally:
                writer.wait_merging_threads()
        finally:
            self._write_lock.release()

    def rebuild(self, db: Database, *, progress: Progress | None = None,
                cancel: Callable[[], bool] | None = None) -> int:
        """Re-index every message from the archive; searchers see the old index until the end."""
        with self._write_lock:
            writer = self._writer(2, REBUILD_HEAP)
            try:
                return self._build(db, writer, progress, cancel)
            finally:
                writer.wait_merging_threads()

    def _build(self, db: Database, writer, progress: Progress | None, cancel) -> int:
        with db.read() as conn:
            heads0 = jr.heads(conn)
            total = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        writer.delete_all_documents()
        done, last = 0, None
        scanned = array("q")  # the ids added, ascending (8 bytes each, for the overlap below)
        while True:
            if cancel is not None and cancel():
                writer.rollback()
                raise InterruptedError("reindex cancelled; the previous index is unchanged")
            stmt = select(*_INDEX_COLUMNS).order_by(Message.id).limit(SCAN_CHUNK)
            if last is not None:
                stmt = stmt.where(Message.id > last)
            with db.read() as conn:
                rows = conn.execute(stmt).all()
            if not rows:
                break
            for r in rows:
                writer.add_document(_doc(r))
            scanned.extend(r.id for r in rows)
            last = rows[-1].id
            done += len(rows)
            if progress is not None:
                progress(done, max(total, done))
        # Messages written during the scan may or may not have been seen: apply their journal rows,
        # skipping those the scan added and replacing the changed ones.
        with db.read() as conn:
            heads1 = jr.heads(conn)
        self._apply_journal(db, writer, heads0, heads1, None, cancel, scanned=scanned, commit=False)
        writer.add_document(tantivy.Document(id=0, msgtime=0, skey=0, f=[META, BUILT]))
        writer.commit()
        return done

    def _set_marks(self, writer, marks: dict[int, int]) -> None:
        for corp, no in marks.items():
            writer.delete_documents_by_term("f", f"\x00hwm{corp}")
            writer.add_document(tantivy.Document(id=-corp, msgtime=no, skey=0, f=[META, f"\x00hwm{corp}"]))

    def _apply_journal(self, db: Database, writer, hwm: dict[int, int], heads: dict[int, int],
                       progress: Progress | None, cancel, *, scanned: array | None = None,
                       commit: bool = True) -> int:
        pending = {c: n for c, n in heads.items() if n > hwm.get(c, 0)}
        if not pending:
            if not commit:
                self._set_marks(writer, heads)
            return 0
        done = since_commit = 0
        marks = dict(hwm)
        for corp, head in pending.items():
            start = hwm.get(corp, 0)
            while start < head:
                if cancel is not None and cancel():
                    break
                upto = min(head, start + 100)  # journal rows per step (~100 batches)
                with db.read() as conn:
                    entries = jr.read_entries(conn, corp, start, upto)
                n = self._index_ids(db, writer, entries, scanned)
                done += n
                since_commit += n
                marks[corp] = upto
                start = upto
                if progress is not None:
                    progress(done, done)
                if commit and since_commit >= CATCH_UP_COMMIT_EVERY:
                    self._set_marks(writer, {corp: upto})
                    writer.commit()
                    since_commit = 0
        if commit:
            self._set_marks(writer, {c: marks[c] for c in pending})
            writer.commit()
        else:
            self._set_marks(writer, {**heads, **marks})
        return done

    def _index_ids(self, db: Database, writer, entries: jr.Entries, scanned: array | None) -> int:
        """Add the journaled messages; replace the documents of changed ones. During a build,
        messages its scan already added (``scanned``, sorted) are not added twice."""
        changed = sorted(set(entries.changed))
        for i in range(0, len(changed), 200):
            writer.delete_documents_by_query(self.ids_query(changed[i:i + 200]))
        new = set(entries.new) - set(changed)
        if scanned is not None:
            new = {i for i in new if not _contains(scanned, i)}
        entries = jr.Entries(sorted(new), changed)
        ids = sorted(set(entries.all))
        n = 0
        for i in range(0, len(ids), ROWS_CHUNK):
            with db.read() as conn:
                rows = conn.execute(select(*_INDEX_COLUMNS).where(Message.id.in_(ids[i:i + ROWS_CHUNK]))).all()
            for r in rows:
                writer.add_document(_doc(r))
            n += len(rows)
        return n

    # ------------------------------------------------------------------ size
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())


def _contains(sorted_ids: array, value: int) -> bool:
    i = bisect.bisect_left(sorted_ids, value)
    return i < len(sorted_ids) and sorted_ids[i] == value


_registry: dict[str, SearchIndex] = {}
_registry_lock = threading.Lock()


def index_for(path: Path) -> SearchIndex:
    """The process's one SearchIndex for ``path`` (threads of a process share it and its writer lock)."""
    key = str(Path(path).resolve())
    with _registry_lock:
        idx = _registry.get(key)
        if idx is None:
            idx = _registry[key] = SearchIndex(Path(key))
        return idx


class IndexFollower:
    """Keeps an index current on a background thread while a sync writes batches: ``poke()``
    after each commit, ``close()`` at the end (which applies what is left). Indexing never fails
    the sync: errors are logged and the next search catches up."""

    def __init__(self, db: Database, index_dir: Path | None = None):
        self.db = db
        self.index_dir = index_dir
        self._event = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="search-index-follower", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._event.set()

    def _once(self) -> None:
        try:
            index_for(self.index_dir or default_index_dir(self.db)).catch_up(self.db, blocking=True)
        except IndexBusy:
            pass  # another process is indexing; it will pick these messages up
        except Exception:  # the index is derived data: never let it stop a sync
            log.exception("updating the search index failed; searches will catch up")

    def _run(self) -> None:
        while True:
            self._event.wait()
            self._event.clear()
            if self._stop:
                break
            self._once()
            time.sleep(0.5)  # coalesce batches: at most two catch-ups a second
        self._once()

    def close(self) -> None:
        self._stop = True
        self._event.set()
        self._thread.join()
