"""The backup's errors: each message is one sentence saying what is wrong and what to do."""

from __future__ import annotations

from app.core.errors import SaidInTwoLanguages


class BackupError(SaidInTwoLanguages, RuntimeError):
    """A backup, a verification or a restore could not be done (the message says why, in English and
    Chinese)."""


class BackupCancelled(BackupError):
    """Cancelled; what was being written was removed (an earlier backup is untouched)."""
