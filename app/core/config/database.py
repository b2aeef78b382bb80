"""Where the archive database is: its URL, as the settings and the Settings dialog handle it.

SQLite on one workstation (a file in the data folder by default) or a MySQL/MariaDB server for a
team. The password of a server is never part of the URL in the settings file (it lives in the
keyring, app.core.config.secrets); :func:`with_password` puts it in for a connection.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# What is wrong with a server URL (the Settings dialog says it in the UI language).
NOT_A_URL, NOT_MYSQL, HAS_PASSWORD, NEEDS_HOST_AND_DATABASE = "not-a-url", "not-mysql", "has-password", "incomplete"


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite+pysqlite", database=str(path)).render_as_string()


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL, or None if ``url`` is not one."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        return None
    return u.database if u.get_backend_name() == "sqlite" else None


def server_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a MySQL/MariaDB server URL for the settings file (one of NOT_A_URL,
    NOT_MYSQL, HAS_PASSWORD, NEEDS_HOST_AND_DATABASE), or None."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        return NOT_A_URL
    if u.get_backend_name() not in ("mysql", "mariadb"):
        return NOT_MYSQL
    if u.password:
        return HAS_PASSWORD
    if not u.host or not u.database:
        return NEEDS_HOST_AND_DATABASE
    return None


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it, for a connection (never for the settings file)."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as a placeholder, never as given
        return "<unparsable database URL>"
