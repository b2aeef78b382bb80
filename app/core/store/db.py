"""Opening the archive database (SQLite or MySQL/MariaDB) and keeping its schema current.

One :class:`Database` per process: it owns the SQLAlchemy engine, runs Alembic migrations on open,
and hands out snowflake ids with a node id registered in the database.
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .ids import MAX_NODE, SnowflakeIds
from .models import IdNode

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseError(RuntimeError):
    """The archive database cannot be opened or used; the message says which and why."""


def now_ms() -> int:
    return int(time.time() * 1000)


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite+pysqlite", database=str(path)).render_as_string()


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as a placeholder, never as given
        return "<unparsable database URL>"


def _normalise(url: str) -> URL:
    try:
        u = make_url(url)
    except Exception as exc:
        raise DatabaseError(f"'{redact(url)}' is not a database URL ({exc}); use e.g. "
                            f"sqlite:///path/archive.db or mysql+pymysql://user@host:3306/dbname") from None
    if u.get_backend_name() in ("mysql", "mariadb"):
        if u.get_driver_name() not in ("pymysql", "default"):
            raise DatabaseError(f"unsupported MySQL driver '{u.get_driver_name()}': use mysql+pymysql://")
        u = u.set(drivername="mysql+pymysql").update_query_dict({"charset": "utf8mb4"})
    elif u.get_backend_name() != "sqlite":
        raise DatabaseError(f"unsupported database '{u.get_backend_name()}': use SQLite or MySQL/MariaDB")
    return u


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # Writers ask for IMMEDIATE so that two writers never deadlock upgrading read locks.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_recycle=3600,
                         isolation_level="READ COMMITTED")


class Database:
    """The archive database of this process."""

    def __init__(self, url: str, *, migrate: bool = True):
        self.url = _normalise(url)
        # This workstation's data folder, for files kept beside a shared database (search index).
        self.local_dir: Path | None = None
        self.dialect = self.url.get_backend_name()  # "sqlite" or "mysql"
        self.engine = _make_engine(self.url)
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            if migrate:
                self.migrate()
            self.ids = SnowflakeIds(self._register_node())
        except OperationalError as exc:
            self.engine.dispose()
            raise DatabaseError(f"cannot open the archive database {self.display_url}: "
                                f"{exc.orig if exc.orig is not None else exc}") from None

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def _register_node(self) -> int:
        with self.engine.begin() as conn:
            node = conn.execute(insert(IdNode).values(host=socket.gethostname()[:255], pid=os.getpid(),
                                                      created_at=now_ms())).inserted_primary_key[0]
        return node % (MAX_NODE + 1)

    @contextmanager
    def write(self):
        """A write transaction (IMMEDIATE on SQLite); commits on success, rolls back on error."""
        conn = self.engine.connect()
        if self.is_sqlite:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with conn.begin():
                yield conn
        finally:
            conn.close()

    @contextmanager
    def read(self):
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    try:
        return Database(url)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open the archive database {redact(url)}: {exc}") from None

