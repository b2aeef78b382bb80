"""A consistent copy of the archive database as one SQLite file, and reading such a copy.

* A SQLite archive is copied with SQLite's online backup API in one step: the copy is the database
  as one read transaction saw it (WAL mode: writers carry on meanwhile).
* A MySQL/MariaDB archive is read inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` (what
  ``mysqldump --single-transaction`` does) and its rows written into a SQLite file whose schema the
  app's own migrations made, at the archive's revision.

Either way a backup holds the same kind of file, so one restore path serves both, and a
workstation's SQLite backup can be restored into a team's MySQL (and back).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from app.core.store.db import MIGRATIONS_DIR, Database

from .errors import BackupCancelled, BackupError

Progress = Callable[[str, int, int], None]
CHUNK = 1000
# Rows the migrations insert into a new schema; a copy replaces them with the archive's.
_SEEDED = ("audit_head",)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def create_schema(engine: Engine, revision: str) -> None:
    """The app's schema at ``revision`` in the (empty) database of ``engine``."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def schema_revision(conn) -> str:
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def ordered_tables(engine_or_conn) -> list[str]:
    """The tables in an order that satisfies their foreign keys (parents first)."""
    insp = inspect(engine_or_conn)
    names = insp.get_table_names()
    deps = {n: {fk["referred_table"] for fk in insp.get_foreign_keys(n)} - {n} for n in names}
    out: list[str] = []
    while deps:
        ready = sorted(n for n, d in deps.items() if not d - set(out))
        if not ready:  # a cycle (none in this schema): keep the rest in name order
            ready = sorted(deps)
        out.extend(ready)
        for n in ready:
            deps.pop(n)
    return out


def copy_rows(source, target, tables: list[str], *, progress: Progress | None = None,
              cancel: Callable[[], bool] | None = None) -> dict[str, int]:
    """Copy every row of ``tables`` from connection ``source`` to connection ``target`` (whose
    tables exist and are emptied first), streaming in chunks; returns the rows copied per table."""
    counts: dict[str, int] = {}
    for name in tables:
        columns = [c["name"] for c in inspect(target).get_columns(name)]
        quoted = ", ".join(f'"{c}"' if target.dialect.name == "sqlite" else f"`{c}`" for c in columns)
        q = '"' if source.dialect.name == "sqlite" else "`"
        target.execute(text(f"DELETE FROM {_q(target, name)}"))
        insert = text(f"INSERT INTO {_q(target, name)} ({quoted}) VALUES ({', '.join(':' + c for c in columns)})")
        select_cols = ", ".join(f"{q}{c}{q}" for c in columns)
        result = source.execution_options(stream_results=True, yield_per=CHUNK).execute(
            text(f"SELECT {select_cols} FROM {_q(source, name)}"))
        n = 0
        for chunk in result.partitions(CHUNK):
            if cancel is not None and cancel():
                raise BackupCancelled("cancelled", "已取消")
            target.execute(insert, [dict(zip(columns, row, strict=True)) for row in chunk])
            n += len(chunk)
            if progress is not None:
                progress(f"table {name}", n, 0)
        counts[name] = n
    return counts


def _q(conn, name: str) -> str:
    return f'"{name}"' if conn.dialect.name == "sqlite" else f"`{name}`"


def snapshot_database(db: Database, target: Path, *, progress: Progress | None = None,
                      cancel: Callable[[], bool] | None = None) -> str:
    """Write a consistent copy of ``db`` to the SQLite file ``target`` (which must not exist);
    returns the archive's schema revision."""
    if db.is_sqlite:
        path = db.url.database
        if not path or path == ":memory:":
            raise BackupError("an in-memory archive cannot be backed up", "内存中的存档无法备份")
        src = sqlite3.connect(f"file:{quote(str(Path(path).absolute()))}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # one step: a single read transaction, so the copy is consistent
        finally:
            dst.close()
            src.close()
        with read_only(target) as conn:
            return schema_revision(conn)
    engine = create_engine(f"sqlite:///{target}")
    try:
        with db.engine.connect() as opened:
            server = opened.execution_options(isolation_level="REPEATABLE READ")
            server.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            try:
                revision = schema_revision(server)
                create_schema(engine, revision)
                with engine.begin() as copy:
                    wanted = [t for t in ordered_tables(copy) if t != "alembic_version"]
                    have = set(inspect(server).get_table_names())
                    missing = sorted(have - set(wanted) - {"alembic_version"})
                    if missing:
                        raise BackupError(f"the archive has tables this version does not know ({', '.join(missing)}): "
                                          f"update the app before backing it up",
                                          f"存档中有本版本不认识的表（{', '.join(missing)}）：请先升级应用再备份")
                    copy_rows(server, copy, [t for t in wanted if t in have], progress=progress, cancel=cancel)
            finally:
                server.rollback()
    finally:
        engine.dispose()
    return revision


@contextmanager
def read_only(path: Path):
    """A SQLAlchemy connection to the SQLite copy at ``path``, read-only (nothing is written, not
    even a -wal file)."""
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(
        f"file:{quote(str(Path(path).absolute()))}?mode=ro&immutable=1", uri=True, check_same_thread=False))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


class SnapshotDb:
    """Enough of :class:`~app.core.store.db.Database` for reading a copy (``AuditTrail.check``)."""

    def __init__(self, path: Path):
        self.path = path
        self.is_sqlite = True

    @contextmanager
    def read(self):
        with read_only(self.path) as conn:
            yield conn

    def write(self):  # pragma: no cover - a copy is never written
        raise BackupError("a backup's database copy is read-only", "备份中的数据库副本是只读的")
