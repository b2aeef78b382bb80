"""One batch of a sync, written in one transaction: messages, media rows, recalls, sessions,
quarantine rows and the checkpoint commit together, so a crash loses nothing and duplicates nothing.

Nothing an entry contains may stop the sync (WeCom keeps entries for about five days: an entry that
blocks the checkpoint loses every entry after it). So:

* every value is made storable first (:func:`storable`): a lone UTF-16 surrogate becomes U+FFFD in
  the derived columns (the raw JSON is kept as received, with its SHA-256), integers outside what the
  column holds are dropped (a time outside years 1970–9999 becomes 0), display columns are cut to
  their length; an entry whose msgid does not fit its column, or is not valid text, is quarantined
  (stage ``store``) rather than stored under a changed id;
* a msgid already stored with other bytes is not dropped as a duplicate: it is kept in quarantine
  as a ``conflict``, with its plaintext, for a reviewer to see;
* a database error on the batch is narrowed down (savepoints, halving) to the entries that cause it;
  those are quarantined with the database's error code — never its message or the statement's
  parameters, which may quote chat text — and the rest is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, and_, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, StatementError

from app.core.sdk.decrypt import Decrypted, Rejected
from app.core.search.journal import journal_batch
from app.core.store.db import Database, now_ms
from app.core.store.models import FAILED, PENDING, Media, Message, QuarantineEntry, Session, SyncCheckpoint

from .failures import database_error_text

_IN_CHUNK = 500  # ids per IN (...) list
STAGE_STORE, STAGE_CONFLICT = "store", "conflict"
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: every later step (dates, displays) can handle it
INT64 = 2**63 - 1
KEY_LENGTH = 191  # msgid, recalled_msgid, sender, roomid (utf8mb4 index limit on MySQL)


def storable(text: str, limit: int | None = None) -> str:
    """``text`` as a database can store it: lone surrogates (half an emoji, from a ``\\ud83d``
    escape) replaced by U+FFFD, cut to ``limit`` characters if given."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text[:limit] if limit is not None and len(text) > limit else text


def fits(text: str, limit: int) -> bool:
    """True if ``text`` can be stored exactly in a column of ``limit`` characters (a key column)."""
    return len(text) <= limit and storable(text) == text and "\0" not in text


def _int(value: int | None, low: int = 0, high: int = INT64) -> int | None:
    return value if value is not None and low <= value <= high else None


# The columns a new message row is written with; recalled_at and recall_msgid start NULL (set when
# the recall comes).
_MESSAGE_COLUMNS = ("id", "corp_id", "seq", "msgid", "publickey_ver", "raw_json", "raw_sha256", "action", "sender",
                    "tolist", "roomid", "msgtime", "msgtype", "content_text", "session_id", "session_type",
                    "supported", "has_media", "recalled_msgid", "sync_run_id", "ingested_at")
# ... and a new media row: storage_backend, storage_key, sha256, stored_size, md5_matched and
# stored_at start NULL (set when the file is stored).
_MEDIA_COLUMNS = ("id", "corp_id", "message_id", "msgid", "ref_path", "kind", "sdkfileid", "sdkfileid_sha256",
                  "md5sum", "declared_size", "filename", "ext", "status", "attempts", "last_error", "updated_at")
_UNUSABLE_FILEID = "the message names no usable sdkfileid (empty, or not valid text): the SDK cannot be asked for this file"
_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False) makes an encoder per call


class ConcurrentSyncError(RuntimeError):
    """Another process advanced this corp's checkpoint while we were fetching."""


@dataclass
class BatchCounts:
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    media: int = 0


_T = TypeVar("_T")


def _chunks(values: Sequence[_T], n: int = _IN_CHUNK) -> Iterable[Sequence[_T]]:
    for i in range(0, len(values), n):
        yield values[i:i + n]


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """A plain parameterised executemany of ``rows`` (dicts with the same keys) into ``table``."""
    if rows:
        columns = tuple(rows[0])
        insert_rows(conn, table, columns, [tuple(r[c] for c in columns) for r in rows])


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """A plain parameterised executemany of ``rows`` (tuples of the ``columns``' values) into ``table``.

    This is the sync's hot path: SQLAlchemy's per-row bind processing costs more than SQLite's
    insert itself at 1,000 rows a batch, and the values here are already plain DB-API types.
    """
    if not rows:
        return
    known = {c.name for c in table.columns}
    if not set(columns) <= known:  # names come from our code, but never build SQL from unknown ones
        raise ValueError(f"unknown columns for {table.name}: {sorted(set(columns) - known)}")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    conn.exec_driver_sql(sql, list(rows))


def select_in(conn: Connection, sql: str, params: tuple[Any, ...], values: Sequence[Any]) -> list[Any]:
    """The rows of the driver-level ``sql`` for every one of ``values``, asked _IN_CHUNK at a time:
    ``sql`` marks its parameters ``{p}`` and ends in ``IN ({values})``; ``params`` fill the ``{p}``s.

    The batch's lookups by msgid: SQLAlchemy renders an IN list parameter by parameter, which cost
    five times the query itself at 1,000 msgids."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    rows: list[Any] = []
    for part in _chunks(list(values)):
        text = sql.format(p=mark, values=", ".join([mark] * len(part)))
        rows.extend(conn.exec_driver_sql(text, (*params, *part)).all())
    return rows


def existing_digests(conn: Connection, corp_id: int, msgids: Sequence[str]) -> dict[str, str]:
    """msgid → raw_sha256 of those of ``msgids`` already stored."""
    sql = "SELECT msgid, raw_sha256 FROM messages WHERE corp_id = {p} AND msgid IN ({values})"
    return {msgid: digest for msgid, digest in select_in(conn, sql, (corp_id,), msgids)}


def lock_checkpoint(conn: Connection, corp_id: int) -> int:
    """The corp's checkpoint, locked for this transaction (created at 0 if missing)."""
    row = conn.execute(select(SyncCheckpoint.last_seq).where(SyncCheckpoint.corp_id == corp_id)
                       .with_for_update()).scalar()
    if row is None:
        conn.execute(insert(SyncCheckpoint).values(corp_id=corp_id, last_seq=0, updated_at=now_ms()))
        return 0
    return row


def store_messages(db: Database, conn: Connection, corp_id: int, decrypted: Sequence[Decrypted],
                   run_id: int | None) -> tuple[BatchCounts, list[Rejected]]:
    """Insert the messages that are not stored yet (dedup by msgid), their media, recalls, sessions.

    Returns the counts and the entries that could not be stored as they are (a msgid that does not
    fit, a msgid stored already with other bytes): the caller quarantines those."""
    counts = BatchCounts()
    refused: list[Rejected] = []
    seen: dict[str, str] = {}
    fresh: list[Decrypted] = []
    candidates = []
    for d in decrypted:
        msgid = d.parsed.msgid
        if not fits(msgid, KEY_LENGTH):
            refused.append(Rejected(d.item, STAGE_STORE, f"the msgid ({len(msgid)} characters) cannot be stored as "
                                                         f"received: longer than {KEY_LENGTH} characters or not valid "
                                                         f"text; the entry is kept here as received", plaintext=d.raw))
        else:
            candidates.append(d)
    stored = existing_digests(conn, corp_id, [d.parsed.msgid for d in candidates])
    digests: list[str] = []  # of the fresh entries
    for d in candidates:
        msgid, digest = d.parsed.msgid, hashlib.sha256(d.raw).hexdigest()
        known = stored.get(msgid) or seen.get(msgid)
        if known is None:
            seen[msgid] = digest
            fresh.append(d)
            digests.append(digest)
        elif known == digest:
            counts.duplicates += 1
        else:
            refused.append(Rejected(d.item, STAGE_CONFLICT, f"msgid {msgid} is archived already with other content "
                                                            f"(sha256 {known[:12]}…, this entry {digest[:12]}…); "
                                                            f"both are kept", plaintext=d.raw))
    if not fresh:
        return counts, refused
    now = now_ms()
    ids = db.ids.take(len(fresh))
    message_rows: list[tuple[Any, ...]] = []
    recalled_msgids: list[str] = []
    media_rows: list[tuple[Any, ...]] = []
    for mid, d, digest in zip(ids, fresh, digests, strict=True):
        p = d.parsed
        recalled = p.recalled_msgid if p.recalled_msgid and fits(p.recalled_msgid, KEY_LENGTH) else None
        if recalled:
            recalled_msgids.append(recalled)
        message_rows.append((  # in the order of _MESSAGE_COLUMNS
            mid, corp_id, d.item.seq, p.msgid, d.item.publickey_ver, d.raw, digest, storable(p.action, 32),
            storable(p.sender, KEY_LENGTH), _json([storable(t) for t in p.tolist]), storable(p.roomid, KEY_LENGTH),
            _int(p.msgtime, 0, MAX_MS) or 0, storable(p.msgtype, 64), storable(p.search_text), p.session_id,
            p.session_type, p.supported, bool(p.media), recalled, run_id, now))
        for ref in p.media:
            fileid = storable(ref.sdkfileid)
            # An sdkfileid that is not valid text cannot be asked of the SDK: failed at once, with why.
            unusable = not ref.sdkfileid or fileid != ref.sdkfileid or "\0" in ref.sdkfileid
            media_rows.append((  # in the order of _MEDIA_COLUMNS
                db.ids.next_id(), corp_id, mid, p.msgid, storable(ref.path, KEY_LENGTH), storable(ref.kind, 64),
                fileid, hashlib.sha256(fileid.encode("utf-8")).hexdigest(), storable(ref.md5sum or "", 64),
                _int(ref.size), storable(ref.filename) if ref.filename is not None else None,
                (ref.ext or None) and storable(ref.ext, 32), FAILED if unusable else PENDING, 0,
                _UNUSABLE_FILEID if unusable else None, now))
    insert_rows(conn, Message.__table__, _MESSAGE_COLUMNS, message_rows)
    insert_rows(conn, Media.__table__, _MEDIA_COLUMNS, media_rows)
    counts.stored = len(fresh)
    counts.media = len(media_rows)
    _apply_recalls(conn, corp_id, fresh)
    _update_sessions(db, conn, corp_id, fresh)
    # Search: journal what this write added and recalled, in this same transaction, for the
    # search indexes to catch up from (app/core/search/journal.py). Keep it last: it locks a counter row.
    journal_batch(conn, corp_id, ids, recalled_msgids)
    return counts, refused


def _apply_recalls(conn: Connection, corp_id: int, fresh: Sequence[Decrypted]) -> None:
    """Mark recalled messages (they stay stored) — both a new recall of an old message and, for
    messages re-admitted from quarantine, an older recall that already names them."""
    recalls = [{"c": corp_id, "target": d.parsed.recalled_msgid, "t": _int(d.parsed.msgtime, 0, MAX_MS) or 0,
                "by": d.parsed.msgid}
               for d in fresh if d.parsed.recalled_msgid and fits(d.parsed.recalled_msgid, KEY_LENGTH)]
    sql = "SELECT msgid, msgtime, recalled_msgid FROM messages WHERE corp_id = {p} AND recalled_msgid IN ({values})"
    for msgid, msgtime, target in select_in(conn, sql, (corp_id,), [d.parsed.msgid for d in fresh]):
        recalls.append({"c": corp_id, "target": target, "t": msgtime, "by": msgid})
    if not recalls:
        return
    stmt = (update(Message)
            .where(and_(Message.corp_id == bindparam("c"), Message.msgid == bindparam("target"),
                        Message.recalled_at.is_(None)))
            .values(recalled_at=bindparam("t"), recall_msgid=bindparam("by")))
    conn.execute(stmt.execution_options(synchronize_session=False), recalls)


def _update_sessions(db: Database, conn: Connection, corp_id: int, fresh: Sequence[Decrypted]) -> None:
    agg: dict[str, dict[str, Any]] = {}
    for d in fresh:
        p = d.parsed
        if not p.session_id:
            continue
        t = _int(p.msgtime, 0, MAX_MS) or 0
        a = agg.get(p.session_id)
        if a is None:
            a = agg[p.session_id] = {"type": p.session_type or "", "roomid": storable(p.roomid), "people": set(),
                                     "first": t, "last": t, "count": 0}
        people = a["people"]
        people.add(p.sender)
        people.update(p.tolist)
        a["first"] = min(a["first"], t)
        a["last"] = max(a["last"], t)
        a["count"] += 1
    for a in agg.values():  # made storable once per name, not once per message
        a["people"] = {storable(x) for x in a["people"] if x}
    if not agg:
        return
    existing = {}
    for part in _chunks(list(agg)):
        for row in conn.execute(select(Session.session_id, Session.participants, Session.first_msgtime,
                                       Session.last_msgtime, Session.message_count)
                                .where(Session.corp_id == corp_id, Session.session_id.in_(part))):
            existing[row.session_id] = row
    inserts, updates = [], []
    for sid, a in agg.items():
        old = existing.get(sid)
        if old is None:
            inserts.append({"id": db.ids.next_id(), "corp_id": corp_id, "session_id": sid,
                            "session_type": a["type"], "roomid": a["roomid"][:191],
                            "participants": json.dumps(sorted(a["people"]), ensure_ascii=False),
                            "first_msgtime": a["first"], "last_msgtime": a["last"], "message_count": a["count"]})
        else:
            people = sorted(set(json.loads(old.participants)) | a["people"])
            updates.append({"c": corp_id, "sid": sid, "p": json.dumps(people, ensure_ascii=False),
                            "f": min(old.first_msgtime, a["first"]), "l": max(old.last_msgtime, a["last"]),
                            "n": old.message_count + a["count"]})
    if inserts:
        conn.execute(insert(Session), inserts)
    if updates:
        stmt = (update(Session)
                .where(and_(Session.corp_id == bindparam("c"), Session.session_id == bindparam("sid")))
                .values(participants=bindparam("p"), first_msgtime=bindparam("f"),
                        last_msgtime=bindparam("l"), message_count=bindparam("n")))
        conn.execute(stmt.execution_options(synchronize_session=False), updates)


def quarantine(db: Database, conn: Connection, corp_id: int, rejected: Sequence[Rejected], run_id: int | None) -> int:
    """Keep entries that failed, with the encrypted item and the reason; an entry already in
    quarantine (same seq) gets its attempt count and error updated instead."""
    if not rejected:
        return 0
    now = now_ms()
    seqs = [r.item.seq for r in rejected]
    known: set[int] = set()
    for part in _chunks(seqs):
        known.update(conn.execute(select(QuarantineEntry.seq).where(
            QuarantineEntry.corp_id == corp_id, QuarantineEntry.seq.in_(part))).scalars())
    rows = [{"id": db.ids.next_id(), "corp_id": corp_id, "seq": r.item.seq, "msgid": storable(r.item.msgid, KEY_LENGTH),
             "publickey_ver": r.item.publickey_ver, "encrypted_item": r.item.to_json(), "stage": r.stage,
             "error": storable(r.error), "plaintext": r.plaintext, "attempts": 1, "first_seen_at": now,
             "last_tried_at": now, "resolved_at": None, "sync_run_id": run_id}
            for r in rejected if r.item.seq not in known]
    if rows:
        conn.execute(insert(QuarantineEntry), rows)
    again = [{"c": corp_id, "s": r.item.seq, "e": storable(r.error), "st": r.stage, "t": now}
             for r in rejected if r.item.seq in known]
    if again:
        stmt = (update(QuarantineEntry)
                .where(and_(QuarantineEntry.corp_id == bindparam("c"), QuarantineEntry.seq == bindparam("s")))
                .values(error=bindparam("e"), stage=bindparam("st"), last_tried_at=bindparam("t"),
                        attempts=QuarantineEntry.attempts + 1))
        conn.execute(stmt.execution_options(synchronize_session=False), again)
    return len(rows)


def write_batch(db: Database, corp_id: int, expected_seq: int, new_seq: int,
                outcomes: Sequence[Decrypted | Rejected], run_id: int | None,
                on_counts: Callable[[Connection, BatchCounts], None] | None = None) -> BatchCounts:
    """Store one fetched batch and move the checkpoint from ``expected_seq`` to ``new_seq``.

    ``on_counts(conn, counts)`` runs inside the same transaction (the sync records its run's
    running totals there, so they always agree with the checkpoint)."""
    decrypted = [o for o in outcomes if isinstance(o, Decrypted)]
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    with db.write() as conn:
        current = lock_checkpoint(conn, corp_id)
        if current != expected_seq:
            raise ConcurrentSyncError(
                f"the checkpoint of this corp moved from {expected_seq} to {current} during the sync: "
                f"another workstation or process is syncing the same corp; this run stops, nothing is lost")
        counts, refused = store_narrowing(db, conn, corp_id, decrypted, run_id)
        counts.quarantined = quarantine(db, conn, corp_id, rejected + refused, run_id)
        conn.execute(update(SyncCheckpoint).where(SyncCheckpoint.corp_id == corp_id)
                     .values(last_seq=new_seq, updated_at=now_ms()))
        if on_counts is not None:
            on_counts(conn, counts)
    return counts


def store_narrowing(db: Database, conn: Connection, corp_id: int, decrypted: Sequence[Decrypted],
                    run_id: int | None) -> tuple[BatchCounts, list[Rejected]]:
    """:func:`store_messages` in a savepoint; if the database refuses the group, each half is tried
    again the same way, down to the single entries the database refuses, which are returned as
    rejected (stage ``store``, with the database's error code). Connection failures are raised."""
    if not decrypted:
        return BatchCounts(), []
    savepoint = conn.begin_nested()
    try:
        result = store_messages(db, conn, corp_id, decrypted, run_id)
    except (DBAPIError, StatementError) as exc:
        savepoint.rollback()
        if getattr(exc, "connection_invalidated", False):
            raise
        if len(decrypted) == 1:
            d = decrypted[0]
            reason = database_error_text(exc) or f"database error ({type(exc.orig or exc).__name__})"
            return BatchCounts(), [Rejected(d.item, STAGE_STORE, f"the archive database refused this entry ({reason}); "
                                                                 f"it is kept here as received", plaintext=d.raw)]
        half = len(decrypted) // 2
        first = store_narrowing(db, conn, corp_id, decrypted[:half], run_id)
        second = store_narrowing(db, conn, corp_id, decrypted[half:], run_id)
        counts = BatchCounts(stored=first[0].stored + second[0].stored,
                             duplicates=first[0].duplicates + second[0].duplicates,
                             media=first[0].media + second[0].media)
        return counts, first[1] + second[1]
    savepoint.commit()
    return result
