"""Where the archive is, said for people: a file path or a database server, never a SQLAlchemy URL
("sqlite+pysqlite:////home/li/.local/share/…" means nothing to a compliance officer)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication

translate = QCoreApplication.translate


def archive_text(db) -> str:
    """"~/.local/share/wecom-auditor/archive.db" for a SQLite archive (home as ~), "MySQL database
    wecom on db.corp.example:3306" for a server; never a user name or password. "" if unknown."""
    try:
        url = db.url
        backend = url.get_backend_name()
    except Exception:  # noqa: BLE001 - only a label; the real error comes with the first query
        return ""
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            return translate("ArchiveText", "an in-memory database")
        path = Path(url.database)
        try:
            return "~/" + path.relative_to(Path.home()).as_posix()
        except ValueError:
            return str(path)
    kind = {"mysql": "MySQL", "mariadb": "MariaDB"}.get(backend, backend)
    where = f"{url.host or 'localhost'}" + (f":{url.port}" if url.port else "")
    return translate("ArchiveText", "%1 database %2 on %3").replace("%1", kind) \
        .replace("%2", url.database or "").replace("%3", where)
