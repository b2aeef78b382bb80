"""Errors of the core that its callers (the CLI, the window) catch by name.

They are defined here, beside no implementation, so that a caller can catch them without importing
the module that raises them (the window never imports the store). Each carries one sentence saying
what is wrong and what to do.
"""

from __future__ import annotations


class SaidInTwoLanguages(Exception):
    """Mixed into an error whose sentence is written in English and in Chinese where it is raised:
    ``str()`` (the CLI, the log) gives the English one, the window the one of its language
    (app/ui/language.error_sentence). Without ``message_zh`` the English sentence stands for both."""

    def __init__(self, message_en: str, message_zh: str | None = None):
        super().__init__(message_en, message_zh or message_en)  # both in args: it pickles across processes
        self.message_en, self.message_zh = message_en, message_zh or message_en

    def __str__(self) -> str:
        return self.message_en


class DatabaseError(SaidInTwoLanguages, RuntimeError):
    """The archive database cannot be opened or used; the message says which and why (in English and
    Chinese)."""


class NotAnArchiveError(DatabaseError):
    """The file or database named is not an archive of this app (an empty file, not SQLite, or
    another application's tables). Nothing was created or changed; the message says what to do."""
