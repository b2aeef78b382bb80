"""The explicit "create a new archive" step: ``wecom-auditor new-archive``.

Every other command opens the archive named by ``--data-dir``/``--db`` and refuses, changing
nothing, a file that is empty (0 bytes) or not an archive (app/core/store/db.py). This command is
how a user says they do want a new archive there: it creates one at a path that does not exist,
in an empty (0-byte) file, in a SQLite database without tables or in an empty MySQL database. A
file or database that holds other data is never initialised, not even here.
"""

from __future__ import annotations

import click

from app.core.context import AppContext
from app.core.store.db import open_database, redact

from .base import common, main


@main.command("new-archive")
@common
def new_archive(ctx: AppContext) -> None:
    """Create a new, empty archive at the configured path (the data folder's archive.db, or --db);
    an empty (0-byte) file there becomes the archive. An existing archive is left as it is."""
    url = ctx.db_url
    db = open_database(url, create=True)
    ctx.__dict__["db"] = db  # closed with the context
    db.local_dir = ctx.paths.data_dir
    where = redact(url)
    if not db.created:
        click.echo(f"{where} is an archive already; nothing was changed.")
        return
    click.echo(f"New archive: {where}")
    click.echo("Next: create its first administrator with `wecom-auditor accounts init` "
               "(or set up the demo with `wecom-auditor demo`).")
