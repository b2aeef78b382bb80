"""Where the archive is, said for people: a file path or a database server, never a SQLAlchemy URL
("sqlite+pysqlite:////home/li/.local/share/…" means nothing to a compliance officer), and never a
user name or password. The window words it in its language (app/ui/archive_text.py); the CLI prints
``str(place)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store.db import Database


@dataclass(frozen=True)
class ArchivePlace:
    path: str | None = None   # a SQLite file, home as "~"; None for a server or memory
    memory: bool = False      # an in-memory SQLite database
    kind: str = ""            # "MySQL", "MariaDB", …
    database: str = ""
    host: str = ""            # "db.corp.example:3306"

    def __str__(self) -> str:
        if self.path is not None:
            return self.path
        if self.memory:
            return "an in-memory database"
        return f"{self.kind} database {self.database} on {self.host}" if self.kind else ""


def archive_place(db: Database) -> ArchivePlace:
    """The place of ``db`` (a Database); an empty place if its URL cannot be read."""
    try:
        url = db.url
        backend = url.get_backend_name()
    except Exception:  # noqa: BLE001 - only a label; the real error comes with the first query
        return ArchivePlace()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            return ArchivePlace(memory=True)
        path = Path(url.database)
        try:
            return ArchivePlace(path="~/" + path.relative_to(Path.home()).as_posix())
        except ValueError:
            return ArchivePlace(path=str(path))
    kind = {"mysql": "MySQL", "mariadb": "MariaDB"}.get(backend, backend)
    host = f"{url.host or 'localhost'}" + (f":{url.port}" if url.port else "")
    return ArchivePlace(kind=kind, database=url.database or "", host=host)


__all__ = ["ArchivePlace", "archive_place"]
