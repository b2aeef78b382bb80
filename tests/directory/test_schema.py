"""Migration 0009 makes exactly the directory's tables of models.py, on SQLite and MariaDB, and
keeps the names an older archive held as their first history rows."""

from __future__ import annotations

from sqlalchemy import text

MINE = {"contacts", "contact_names", "directory_departments", "directory_groups", "directory_group_members",
        "archive_permits", "consent_records", "directory_avatars", "directory_runs"}


def test_the_schema_matches_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.core.store.db import open_database
    from app.core.store.models import Base

    db = open_database(db_url, create=True)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        db.close()

    def table_of(d):
        item = d[0] if isinstance(d, list) else d
        for part in item[1:]:
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if isinstance(part, str) and part in MINE:
                return part
        return None

    assert [d for d in diff if table_of(d) in MINE] == []


def test_names_of_an_older_archive_become_history(tmp_path):
    from alembic import command
    from alembic.config import Config

    from app.core.store.db import MIGRATIONS_DIR, open_database

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = open_database(url, create=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        conn.execute(text("INSERT INTO corps (id, corpid, name, created_at) VALUES (1, 'ww1', '', 0)"))
        conn.execute(text("INSERT INTO contacts (id, corp_id, userid, name, kind, organisation, updated_at) "
                          "VALUES (7, 1, 'ChenJing', '陈静', 'staff', '销售二部', 1000)"))
        command.upgrade(cfg, "head")
        rows = conn.execute(text("SELECT userid, name, organisation, valid_from, valid_to, source FROM contact_names")).all()
        contact = conn.execute(text("SELECT source, corp_full_name, position, status FROM contacts")).one()
    db.close()
    assert rows == [("ChenJing", "陈静", "销售二部", 1000, None, "import")]
    assert tuple(contact) == ("import", "", "", None)
