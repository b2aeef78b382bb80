"""Where the archive is, said for people (app/core/place.py): a path or a server, never a
SQLAlchemy URL, a user name or a password — in the window's title and in the CLI's `demo`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from sqlalchemy.engine import make_url
from sync_kit import run_cli

from app.core.place import ArchivePlace, archive_place


def _db(url: str):
    return SimpleNamespace(url=make_url(url))


def test_a_sqlite_file_is_its_path_with_home_as_tilde(tmp_path):
    home_file = Path.home() / ".local" / "share" / "wecom-auditor" / "archive.db"
    assert str(archive_place(_db(f"sqlite:///{home_file}"))) == "~/.local/share/wecom-auditor/archive.db"
    outside = Path("/srv/archive/archive.db")
    assert str(archive_place(_db(f"sqlite+pysqlite:///{outside}"))) == "/srv/archive/archive.db"
    assert archive_place(_db("sqlite://")) == ArchivePlace(memory=True)
    assert str(archive_place(_db("sqlite:///:memory:"))) == "an in-memory database"


def test_a_server_is_named_without_its_user_or_password():
    place = archive_place(_db("mysql+pymysql://auditor:s3cret-pw@db.corp.example:3306/wecom?charset=utf8mb4"))
    assert place == ArchivePlace(kind="MySQL", database="wecom", host="db.corp.example:3306")
    assert str(place) == "MySQL database wecom on db.corp.example:3306"
    assert "auditor" not in str(place) and "s3cret" not in str(place)
    assert str(archive_place(_db("mariadb+pymysql://root@/test"))) == "MariaDB database test on localhost"


def test_an_unreadable_url_is_an_empty_place():
    assert str(archive_place(SimpleNamespace())) == ""


def test_the_cli_demo_says_where_the_archive_is_as_a_path(tmp_path):
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=60, seed=5)
    db = tmp_path / "a.db"
    out = run_cli("demo", "--corpus", str(corpus), data_dir=tmp_path / "data", db_url=f"sqlite:///{db}").stdout
    line = next(x for x in out.splitlines() if x.startswith("Archive: "))
    assert line == f"Archive: {db}" and "sqlite" not in line
