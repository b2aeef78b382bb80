"""The search journal: which messages each write added or changed, in commit order per corp.

Every transaction that stores messages appends one journal row in that same transaction
(:func:`journal_batch`, called by the sync writer). Row numbers come from a per-corp counter row
that the transaction increments, and so keeps locked until it commits: a later number is only
handed out after the earlier transaction has finished, so numbers become visible in order, without
gaps. A search index (one per workstation on a shared MySQL) remembers the last number it has
applied per corp — its high-water mark — and catches up by reading the rows above it.

Snowflake message ids are not usable as that mark: they are taken before commit, on several
workstations' clocks, so a smaller id can commit after a larger one; and a recall changes a
message that was indexed long ago (``changed`` ids). Messages stored before this journal existed
are covered by the index's full build.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    select,
    text,
)
from sqlalchemy.dialects import mysql

from app.core.store.db import now_ms
from app.core.store.models import Message

metadata = MetaData()
_Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_MYSQL = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

journal_heads = Table(
    "search_journal_heads", metadata,
    Column("corp_id", BigInteger, primary_key=True, autoincrement=False),
    Column("last_no", BigInteger, nullable=False),
    **_MYSQL,
)
journal = Table(
    "search_journal", metadata,
    Column("corp_id", BigInteger, nullable=False, autoincrement=False),
    Column("no", BigInteger, nullable=False, autoincrement=False),
    Column("new_ids", _Blob, nullable=False),  # little-endian int64 message ids
    Column("changed_ids", _Blob, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("corp_id", "no"),
    **_MYSQL,
)


def pack_ids(ids: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(ids)}q", *ids)


def unpack_ids(blob: bytes | None) -> tuple[int, ...]:
    if not blob:
        return ()
    return struct.unpack(f"<{len(blob) // 8}q", blob)




def _next_no(conn, corp_id: int) -> int:
    """Take the corp's next journal number; the counter row stays locked until commit."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO search_journal_heads (corp_id, last_no) VALUES (:c, 1) "
                          "ON CONFLICT(corp_id) DO UPDATE SET last_no = last_no + 1"), {"c": corp_id})
    else:
        conn.execute(text("INSERT INTO search_journal_heads (corp_id, last_no) VALUES (:c, 1) "
                          "ON DUPLICATE KEY UPDATE last_no = last_no + 1"), {"c": corp_id})
    return conn.execute(select(journal_heads.c.last_no).where(journal_heads.c.corp_id == corp_id)).scalar_one()


def journal_batch(conn, corp_id: int, new_ids: Sequence[int], recalled_msgids: Iterable[str] = ()) -> None:
    """Record, inside the writing transaction, the ids of messages it inserted and the msgids of
    older messages it marked as recalled. Call it last in the transaction (the counter row stays
    locked from here to the commit)."""
    targets = sorted({m for m in recalled_msgids if m})
    changed: list[int] = []
    for i in range(0, len(targets), 500):
        changed.extend(conn.execute(select(Message.id).where(Message.corp_id == corp_id,
                                                             Message.msgid.in_(targets[i:i + 500]))).scalars())
    if not new_ids and not changed:
        return
    no = _next_no(conn, corp_id)
    conn.execute(journal.insert().values(corp_id=corp_id, no=no, new_ids=pack_ids(list(new_ids)),
                                         changed_ids=pack_ids(sorted(set(changed) - set(new_ids))),
                                         created_at=now_ms()))


def journal_removed(conn, corp_id: int, message_ids: Sequence[int]) -> None:
    """Record, inside the deleting transaction, messages deleted from the archive (retention): as
    "changed" ids, which every index drops and re-adds from the rows — of which there are none now.
    Call it last in the transaction, like :func:`journal_batch`."""
    if not message_ids:
        return
    no = _next_no(conn, corp_id)
    conn.execute(journal.insert().values(corp_id=corp_id, no=no, new_ids=pack_ids([]),
                                         changed_ids=pack_ids(sorted(set(message_ids))), created_at=now_ms()))


def heads(conn) -> dict[int, int]:
    """The last journal number of every corp."""
    return {c: n for c, n in conn.execute(select(journal_heads.c.corp_id, journal_heads.c.last_no))}


@dataclass
class Entries:
    new: list[int]
    changed: list[int]

    @property
    def all(self) -> list[int]:
        return self.new + self.changed


def read_entries(conn, corp_id: int, after_no: int, upto_no: int) -> Entries:
    """The message ids journaled for ``corp_id`` with after_no < no <= upto_no."""
    out = Entries([], [])
    rows = conn.execute(select(journal.c.new_ids, journal.c.changed_ids)
                        .where(journal.c.corp_id == corp_id, journal.c.no > after_no, journal.c.no <= upto_no)
                        .order_by(journal.c.no))
    for new, changed in rows:
        out.new.extend(unpack_ids(new))
        out.changed.extend(unpack_ids(changed))
    return out
