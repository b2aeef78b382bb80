"""Errors of the core that its callers (the CLI, the window) catch by name.

They are defined here, beside no implementation, so that a caller can catch them without importing
the module that raises them (the window never imports the store). Each carries one sentence saying
what is wrong and what to do.
"""

from __future__ import annotations


class DatabaseError(RuntimeError):
    """The archive database cannot be opened or used; the message says which and why."""


class NotAnArchiveError(DatabaseError):
    """The file or database named is not an archive of this app (an empty file, not SQLite, or
    another application's tables). Nothing was created or changed; the message says what to do."""
