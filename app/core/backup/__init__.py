"""Backup and restore of the archive (issue 20). Qt-free.

``make_backup(ctx, actor, repo, full=False, progress=, cancel=)`` writes one backup into the backup
folder ``repo`` (repository.py: its layout); ``verify_backup(repo, backup_id=None)`` checks a backup
and its chain without restoring; ``restore_backup(repo, backup_id=None, data_dir=, db_url=None)``
restores into an empty data folder / database and verifies the result in full. Backups are signed
with the workstation's export key (app/core/export/signing.py), like evidence packages.
"""

from __future__ import annotations

from .backup import BackupResult, chain_of, clean_staging, make_backup
from .errors import BackupCancelled, BackupError
from .repository import backup_ids, read_manifest
from .restore import RestoreResult, restore_backup
from .verify import BackupReport, latest_backup, verify_backup

__all__ = [
    "BackupCancelled", "BackupError", "BackupReport", "BackupResult", "RestoreResult", "backup_ids", "chain_of",
    "clean_staging", "latest_backup", "make_backup", "read_manifest", "restore_backup", "verify_backup",
]
