"""What is opened as the archive must be an archive: an empty (0-byte) file, a file that is not SQLite
and a database holding another application's tables are refused in one sentence, and nothing is
created or changed — no tables, no -wal/-shm, not a byte — unless the user asks for a new archive
explicitly (`wecom-auditor new-archive`), which initialises an empty file but never a file or
database holding other data. A path with no file still becomes a new archive, as before."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from app.cli import main
from app.core.store.db import DatabaseError, NotAnArchiveError, open_database


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file in ``folder`` with its SHA-256 and mode: equal snapshots = nothing created or changed."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
            for p in sorted(folder.iterdir()) if p.is_file()}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _foreign_sqlite(path: Path, *, wal: bool = False) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Zhang Wei')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind", ["empty", "text", "png", "foreign", "foreign-wal", "folder"])
def test_what_is_not_an_archive_is_refused_and_left_untouched(tmp_path, kind):
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "archive.db"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("meeting notes, not an archive\n")
    elif kind == "png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    elif kind == "folder":
        path.mkdir()
    else:
        _foreign_sqlite(path, wal=kind == "foreign-wal")
    before = _snapshot(folder)
    with pytest.raises(NotAnArchiveError) as err:
        open_database(_url(path))
    message = str(err.value)
    assert str(path) in message and "\n" not in message and "not an archive" in message
    assert _snapshot(folder) == before  # not a byte changed, no -wal/-shm/-journal created
    if kind == "empty":
        assert "new-archive" in message and "0 bytes" in message
    elif kind != "folder":  # never initialised, not even when asked for a new archive
        with pytest.raises(NotAnArchiveError):
            open_database(_url(path), create=True)
        assert _snapshot(folder) == before
    if kind.startswith("foreign"):
        assert "customers" in message
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == [("customers",)]


def test_an_empty_file_becomes_an_archive_only_when_asked(tmp_path):
    path = tmp_path / "archive.db"
    path.write_bytes(b"")
    db = open_database(_url(path), create=True)
    try:
        assert db.created
        with db.read() as conn:
            assert "alembic_version" in inspect(conn).get_table_names()
    finally:
        db.close()
    again = open_database(_url(path))  # an archive now: opened as usual
    assert not again.created
    again.close()


def test_a_new_path_still_becomes_a_private_archive_and_an_archive_reopens(tmp_path):
    path = tmp_path / "new" / "folder" / "archive.db"
    db = open_database(_url(path))
    assert db.created
    db.close()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    db = open_database(_url(path))
    assert not db.created
    db.close()
    # a SQLite database without any table (e.g. a first run that crashed before its schema): a new archive
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).execute("PRAGMA user_version = 7").connection.commit()
    db = open_database(_url(blank))
    assert db.created
    db.close()


def test_an_archive_of_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "archive.db"
    open_database(_url(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseError, match="newer version of the app"):
        open_database(_url(path))


def test_another_applications_alembic_database_is_not_taken_for_a_newer_archive(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    before = _snapshot(tmp_path)
    with pytest.raises(NotAnArchiveError, match="another application's database"):
        open_database(_url(path))
    assert _snapshot(tmp_path) == before


def test_a_database_of_another_application_is_refused_on_each_backend(db_url, tmp_path):
    """SQLite: a file with another application's tables; MariaDB: a database with them."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(50))"))
        conn.execute(text("INSERT INTO customers (id, name) VALUES (1, 'Zhang Wei')"))
    engine.dispose()
    for create in (False, True):
        with pytest.raises(NotAnArchiveError, match="customers"):
            open_database(db_url, create=create)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["customers"]  # no alembic_version, no table of ours
        assert conn.execute(text("SELECT name FROM customers")).scalar() == "Zhang Wei"
    engine.dispose()


def test_an_empty_database_becomes_an_archive_on_each_backend(db_url):
    db = open_database(db_url)
    try:
        assert db.created
    finally:
        db.close()
    db = open_database(db_url)
    assert not db.created
    db.close()


def test_the_command_line_says_so_in_one_line_and_new_archive_creates_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "archive.db").write_bytes(b"")
    runner = CliRunner()
    result = runner.invoke(main, ["runs", "--data-dir", str(data)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "is an empty file (0 bytes), not an archive" in lines[0], result.output
    assert (data / "archive.db").stat().st_size == 0

    result = runner.invoke(main, ["new-archive", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "New archive" in result.output and (data / "archive.db").stat().st_size > 0
    result = runner.invoke(main, ["new-archive", "--data-dir", str(data)])
    assert result.exit_code == 0 and "an archive already; nothing was changed" in result.output

    other = tmp_path / "notes.db"
    other.write_text("not an archive")
    result = runner.invoke(main, ["new-archive", "--data-dir", str(data), "--db", _url(other)])
    assert result.exit_code == 1 and "not a SQLite database" in result.output
    assert other.read_text() == "not an archive"
