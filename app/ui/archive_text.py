"""Where the archive is, in the window's language (the place itself: app/core/place.py)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.core.place import archive_place

translate = QCoreApplication.translate


def archive_text(db) -> str:
    """"~/.local/share/wecom-auditor/archive.db" for a SQLite archive (home as ~), "MySQL database
    wecom on db.corp.example:3306" for a server; never a user name or password. "" if unknown."""
    place = archive_place(db)
    if place.path is not None:
        return place.path
    if place.memory:
        return translate("ArchiveText", "an in-memory database")
    if not place.kind:
        return ""
    return translate("ArchiveText", "%1 database %2 on %3").replace("%1", place.kind) \
        .replace("%2", place.database).replace("%3", place.host)
