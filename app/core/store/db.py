"""Opening the archive database (SQLite or MySQL/MariaDB) and keeping its schema current.

One :class:`Database` per process: it owns the SQLAlchemy engine, runs Alembic migrations on open,
and hands out snowflake ids with a node id registered in the database.

What is opened must be an archive. A SQLite path that does not exist, a SQLite database without any
table and an empty MySQL database become a new archive; an existing archive is migrated. Anything
else is refused with :class:`NotAnArchiveError` before anything is created or changed: an empty
(0-byte) file — unless the caller asks for a new archive explicitly (``create=True``, the command
``wecom-auditor new-archive``) —, a file that is not SQLite, and a database that holds tables but
not this app's schema (no ``alembic_version``). A file or database holding other data is never
touched, not even with ``create``.

A SQLite archive (and its -wal/-shm, which SQLite creates with the database's mode) is private to
the user on POSIX: a new one is created 0600, an existing one loses its group/other bits on open.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, event, insert, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from app.core.clock import now_ms
from app.core.config.database import redact, sqlite_url
from app.core.config.paths import make_private, private_mkdir
from app.core.errors import DatabaseError, NotAnArchiveError

from .ids import MAX_NODE, SnowflakeIds
from .models import IdNode

__all__ = ["Database", "DatabaseError", "NotAnArchiveError", "now_ms", "open_database", "redact", "sqlite_url"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


NEW_ARCHIVE_HINT = "`wecom-auditor new-archive`"
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _normalise(url: str) -> URL:
    try:
        u = make_url(url)
    except Exception as exc:
        raise DatabaseError(f"'{redact(url)}' is not a database URL ({exc}); use e.g. "
                            f"sqlite:///path/archive.db or mysql+pymysql://user@host:3306/dbname",
                            f"“{redact(url)}”不是数据库 URL（{exc}）：请写成例如 sqlite:///path/archive.db "
                            f"或 mysql+pymysql://user@host:3306/dbname") from None
    if u.get_backend_name() in ("mysql", "mariadb"):
        if u.get_driver_name() not in ("pymysql", "default"):
            raise DatabaseError(f"unsupported MySQL driver '{u.get_driver_name()}': use mysql+pymysql://",
                                f"不支持的 MySQL 驱动“{u.get_driver_name()}”：请使用 mysql+pymysql://")
        u = u.set(drivername="mysql+pymysql").update_query_dict({"charset": "utf8mb4"})
    elif u.get_backend_name() != "sqlite":
        raise DatabaseError(f"unsupported database '{u.get_backend_name()}': use SQLite or MySQL/MariaDB",
                            f"不支持的数据库“{u.get_backend_name()}”：请使用 SQLite 或 MySQL/MariaDB")
    return u


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    db = url.database or ""
    if not db or db == ":memory:" or db.startswith("file:") or "mode=memory" in db:
        return None
    return Path(db)


def _sqlite_tables(path: Path) -> set[str]:
    """The tables of the SQLite file at ``path``, read without writing anything: ``immutable`` first
    (no lock, no -wal/-shm created), then read-only if a -wal beside it may hold more."""
    from urllib.parse import quote

    def read(flags: str) -> set[str]:
        conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?{flags}", uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()

    tables = read("immutable=1")
    wal = Path(f"{path}-wal")
    if "alembic_version" not in tables and wal.is_file() and wal.stat().st_size > 0:
        tables = read("mode=ro")
    return tables


# Tables every archive has had since the first revision: with an unknown Alembic revision and
# without them, the database is another application's (which also uses Alembic), not a newer archive.
_CORE_TABLES = {"messages", "corps", "sync_checkpoints"}


def _schema_revision(read_revision: Callable[[], str | None], tables: set[str], shown: str, shown_zh: str) -> None:
    """Raise DatabaseError if the archive's Alembic revision is not one of this version's
    (NotAnArchiveError if the database is not an archive at all)."""
    from alembic.script import ScriptDirectory

    revision = read_revision()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    known = {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}
    if revision is None or revision in known:
        return
    if not tables >= _CORE_TABLES:
        raise NotAnArchiveError(f"{shown} is another application's database (tables {_table_list(tables)}), not "
                                f"an archive, and was left as it is: choose the archive, or a new one",
                                f"{shown_zh}是其他应用的数据库（表 {_table_list(tables)}），不是存档，已保持原样："
                                f"请选择存档，或新建一个")
    raise DatabaseError(f"the archive was written by a newer version of the app (schema {revision}): "
                        f"update the app to open it", f"该存档由更新版本的应用写入（结构版本 {revision}）：请升级应用后再打开")


def check_sqlite_archive(path: Path, *, create: bool = False) -> bool:
    """Whether the SQLite file at ``path`` may be opened as an archive: True if it is to be created
    (absent, or empty with ``create``, or a SQLite database without any table), False if it is an
    archive already. Raises NotAnArchiveError (one sentence) for anything else; reads only."""
    shown = str(path)
    if not path.exists():
        return True
    if path.is_dir():
        raise NotAnArchiveError(f"{shown} is a folder, not an archive file: give the archive's file "
                                f"(e.g. {path / 'archive.db'})",
                                f"{shown} 是文件夹，不是存档文件：请给出存档文件（例如 {path / 'archive.db'}）")
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"cannot read the archive file {shown}: {exc.strerror or exc}",
                            f"无法读取存档文件 {shown}：{exc.strerror or exc}") from None
    if not header:
        if create:
            return True
        raise NotAnArchiveError(
            f"{shown} is an empty file (0 bytes), not an archive, and was left as it is: if it should "
            f"hold your archive, restore the archive from a backup; to start a new archive in this "
            f"file, run {NEW_ARCHIVE_HINT}",
            f"{shown} 是空文件（0 字节），不是存档，已保持原样：如果它本应存放您的存档，请从备份恢复；"
            f"要在此文件中新建存档，请运行 {NEW_ARCHIVE_HINT}")
    if header != SQLITE_HEADER:
        raise NotAnArchiveError(f"{shown} is not an archive (it is not a SQLite database) and was left as "
                                f"it is: choose the archive's file, or a new file name for a new archive",
                                f"{shown} 不是存档（不是 SQLite 数据库），已保持原样：请选择存档文件，或为新存档另起一个文件名")
    try:
        tables = _sqlite_tables(path)
    except sqlite3.DatabaseError as exc:
        raise NotAnArchiveError(f"{shown} cannot be read as a SQLite database ({exc}) and was left as it "
                                f"is: restore the archive from a backup, or choose another file",
                                f"{shown} 无法作为 SQLite 数据库读取（{exc}），已保持原样：请从备份恢复存档，或选择其他文件") from None
    if not tables:
        return True
    if "alembic_version" not in tables:
        raise NotAnArchiveError(
            f"{shown} is another application's SQLite database (tables {_table_list(tables)}), not an "
            f"archive, and was left as it is: choose the archive's file, or a new file name for a new "
            f"archive",
            f"{shown} 是其他应用的 SQLite 数据库（表 {_table_list(tables)}），不是存档，已保持原样："
            f"请选择存档文件，或为新存档另起一个文件名")

    def revision() -> str | None:
        conn = sqlite3.connect(f"file:{path.absolute()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            version: str | None = row[0] if row else None
            return version
        finally:
            conn.close()

    _schema_revision(revision, tables, shown, f"{shown} ")
    return False


def _table_list(tables: set[str]) -> str:
    names = sorted(tables)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _check_server_archive(conn: Connection, display_url: str) -> bool:
    """True for an empty MySQL/MariaDB database (a new archive), False for an archive; refuses
    (NotAnArchiveError) one that holds tables but not this app's schema."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return True
    if "alembic_version" not in tables:
        raise NotAnArchiveError(
            f"the database {display_url} holds another application's tables ({_table_list(tables)}), not "
            f"an archive, and was left as it is: give an empty database for a new archive, or the "
            f"archive's database",
            f"数据库 {display_url} 中是其他应用的表（{_table_list(tables)}），不是存档，已保持原样："
            f"新存档请给出空数据库，或给出存档所在的数据库")
    _schema_revision(lambda: conn.execute(text("SELECT version_num FROM alembic_version")).scalar(), tables,
                     f"the database {display_url}", f"数据库 {display_url} ")
    return False


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is not None:
            private_mkdir(path.parent)
            if not path.exists():  # created 0600 here, so SQLite's -wal and -shm are 0600 too
                with suppress(FileExistsError):
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            for p in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
                make_private(p)
        # hide_parameters: a statement's parameters hold decrypted chat text; an error message (which
        # may reach a log or a sync record) must never carry them.
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: object) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers ask for IMMEDIATE so that two writers never deadlock upgrading read locks.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_recycle=3600, hide_parameters=True,
                         isolation_level="READ COMMITTED")


class Database:
    """The archive database of this process.

    Raises NotAnArchiveError (nothing created or changed) when ``url`` names something that is not
    an archive (see the module docstring); ``create=True`` is the user's explicit request for a new
    archive, which also initialises an empty (0-byte) SQLite file. DatabaseError for other problems."""

    def __init__(self, url: str, *, migrate: bool = True, create: bool = False):
        self.url = _normalise(url)
        # This workstation's data folder, for files kept beside a shared database (search index).
        self.local_dir: Path | None = None
        self.dialect = self.url.get_backend_name()  # "sqlite" or "mysql"
        path = _sqlite_path(self.url) if self.dialect == "sqlite" else None
        self.created = check_sqlite_archive(path, create=create) if path is not None else False
        self.engine = _make_engine(self.url)
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                if self.dialect != "sqlite":
                    self.created = _check_server_archive(conn, self.display_url)
            if migrate:
                self.migrate()
            self.ids = SnowflakeIds(self._register_node())
        except DatabaseError:
            self.engine.dispose()
            raise
        except OperationalError as exc:
            self.engine.dispose()
            reason = exc.orig if exc.orig is not None else exc
            raise DatabaseError(f"cannot open the archive database {self.display_url}: {reason}",
                                f"无法打开存档数据库 {self.display_url}：{reason}") from None

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
            key = conn.execute(insert(IdNode).values(host=socket.gethostname()[:255], pid=os.getpid(),
                                                     created_at=now_ms())).inserted_primary_key
            assert key is not None  # an INSERT of one row
            node: int = key[0]
        return node % (MAX_NODE + 1)

    @contextmanager
    def write(self) -> Iterator[Connection]:
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
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, create: bool = False) -> Database:
    """The archive at ``url`` (see :class:`Database`); ``create=True`` only for the user's explicit
    request for a new archive."""
    try:
        return Database(url, create=create)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open the archive database {redact(url)}: {exc}",
                            f"无法打开存档数据库 {redact(url)}：{exc}") from None

