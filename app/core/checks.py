"""Connection tests the Settings dialog runs before it saves anything: the archive database and the
job queue (the media storage's is ``app.core.media.backends.probe_storage``; a corp's is
``app.core.sync.checks.run_checks``).

Each is blocking (a server may take seconds to answer): call it off the GUI thread. Each returns
what it found and raises the core's own error, whose message says what is wrong.
"""

from __future__ import annotations

from app.core.config.database import with_password
from app.core.config.secrets import SecretStore


def check_database(url: str, *, password: str | None = None, secrets: SecretStore | None = None) -> str:
    """Open the archive database at ``url`` (with ``password``, else the one in the keyring for a
    server) and close it again: its display URL (no password). DatabaseError (one sentence) if it
    cannot be used — including a file or database that is not an archive, which is left untouched."""
    from app.core.store.db import open_database

    full = with_password(url, password) if password else (secrets or SecretStore()).database_url(url)
    db = open_database(full)
    try:
        return db.display_url
    finally:
        db.close()


def check_queue(queue_url: str, *, password: str | None = None, archive_url: str = "",
                secrets: SecretStore | None = None) -> tuple[str, dict[str, int]]:
    """Connect to the job queue ``queue_url`` (Redis; "" = the embedded queue in the archive at
    ``archive_url``) and count its jobs: (its description, counts per state)."""
    if queue_url:
        from app.core.queue.redis_queue import RedisQueue

        queue = RedisQueue(queue_url, password=password or (secrets or SecretStore()).redis_password(queue_url))
        try:
            return queue.description, queue.counts()
        finally:
            queue.close()
    from app.core.queue.db_queue import DatabaseQueue
    from app.core.store.db import open_database

    db = open_database(archive_url)
    try:
        embedded = DatabaseQueue(db)
        return embedded.description, embedded.counts()
    finally:
        db.close()
