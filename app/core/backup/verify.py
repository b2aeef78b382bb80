"""Checking a backup without restoring it (``wecom-auditor backup verify PATH``).

For the backup and every backup before it in its chain: the manifest is the one the next backup
continues (a missing or altered backup is named), its Ed25519 signature verifies, every file it
lists has its SHA-256, and every media object it added is there with its SHA-256. In the database
copy: every message's stored JSON hashes to its recorded SHA-256, the set of messages is the one
the manifest's digest names, the table counts match, the audit trail's hash chain is intact up to
the head the manifest recorded, and every stored media object the archive refers to is in the chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .backup import chain_of
from .errors import BackupCancelled, BackupError
from .repository import (
    DATABASE_FILE,
    MEDIA_LIST,
    PUBLIC_KEY,
    SIGNATURE,
    backup_ids,
    check_messages,
    read_media_list,
    sha256_file,
    stored_media,
    table_counts,
)
from .snapshot import SnapshotDb, read_only

Progress = Callable[[str, int, int], None]
MAX_PROBLEMS = 200


@dataclass
class BackupReport:
    backup_id: str
    chain: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    messages: int = 0
    media_files: int = 0
    media_bytes: int = 0
    audit_entries: int = 0
    key_fingerprints: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("… more problems not listed")

    def summary(self) -> str:
        if self.ok:
            return (f"backup {self.backup_id} intact: {len(self.chain)} backup(s) in its chain, {self.messages} "
                    f"messages, {self.media_files} media files, audit trail of {self.audit_entries} entries")
        return f"backup {self.backup_id} has {len(self.problems)} problem(s): {self.problems[0]}"


def latest_backup(repo: Path) -> str:
    ids = backup_ids(repo)
    if not ids:
        raise BackupError(f"{repo} holds no backup", f"{repo} 中没有备份")
    return ids[-1]


def verify_backup(repo: str | os.PathLike[str], backup_id: str | None = None, *, progress: Progress | None = None,
                  cancel: Callable[[], bool] | None = None) -> BackupReport:
    """Check backup ``backup_id`` (default: the newest) in ``repo`` and its chain (see the module
    docstring). Returns the report; BackupError only when ``repo`` holds no such backup at all."""
    from app.core.auth.audit import AuditTrail, ChainHead
    from app.core.export.signing import verify_signature

    repo = Path(repo).expanduser().absolute()
    backup_id = backup_id or latest_backup(repo)
    report = BackupReport(backup_id)
    if not (repo / backup_id).is_dir():
        raise BackupError(f"there is no backup {backup_id} in {repo}", f"{repo} 中没有备份 {backup_id}")

    def tick(phase: str, done: int = 0, total: int = 0) -> None:
        if cancel is not None and cancel():
            raise BackupCancelled("the verification was cancelled", "校验已取消")
        if progress is not None:
            progress(phase, done, total)

    try:
        chain = chain_of(repo, backup_id)
    except BackupError as exc:
        report.problem(str(exc))
        return report
    report.chain = [c[0] for c in chain]
    report.manifest = chain[-1][1]
    keys: set[str] = set()
    for bid, doc, data in chain:
        folder = repo / bid
        tick("manifests")
        try:
            fp, problem = verify_signature((folder / PUBLIC_KEY).read_bytes(), data, (folder / SIGNATURE).read_bytes())
        except OSError:
            fp, problem = None, "its signature or public key file is missing"
        if problem:
            report.problem(f"backup {bid}: {problem}")
        elif fp != doc.get("key_fingerprint"):
            report.problem(f"backup {bid}: signed with another key than its manifest names")
        if fp:
            keys.add(fp)
        for rel, want in (doc.get("files") or {}).items():
            path = folder / rel
            if not path.is_file():
                report.problem(f"backup {bid}: {rel} is missing")
            elif path.stat().st_size != want.get("size") or sha256_file(path) != want.get("sha256"):
                report.problem(f"backup {bid}: {rel} was altered (its SHA-256 differs from the manifest's)")
    report.key_fingerprints = sorted(keys)
    have: dict[str, str] = {}
    for bid, _doc, _data in chain:
        folder = repo / bid
        try:
            entries = list(read_media_list(folder / MEDIA_LIST))
        except (BackupError, OSError) as exc:
            report.problem(f"backup {bid}: {exc if isinstance(exc, BackupError) else 'media.txt cannot be read'}")
            continue
        for n, e in enumerate(entries):
            tick("media", n, len(entries))
            path = folder / "media" / e.key
            if not path.is_file():
                report.problem(f"backup {bid}: media file {e.key} is missing")
            elif path.stat().st_size != e.size or sha256_file(path) != e.sha256:
                report.problem(f"backup {bid}: media file {e.key} was altered (its SHA-256 differs)")
            else:
                report.media_files += 1
                report.media_bytes += e.size
            have[e.key] = bid
    db_file = repo / backup_id / DATABASE_FILE
    if not db_file.is_file():
        return report  # named above
    manifest = report.manifest
    tick("messages")
    try:
        with read_only(db_file) as conn:
            check = check_messages(conn, cancel=cancel)
            counts = table_counts(conn, list((manifest.get("counts") or {}).keys()))
            media = stored_media(conn)
    except BackupCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 — a damaged copy is a finding, not a crash
        report.problem(f"backup {backup_id}: its database copy cannot be read ({type(exc).__name__})")
        return report
    report.messages = check.count
    want = manifest.get("messages") or {}
    if check.bad_count > int(want.get("hash_mismatches") or 0):
        report.problem(f"backup {backup_id}: {check.bad_count} message(s) no longer match their SHA-256 "
                       f"(e.g. {check.bad[0]!r})")
    if check.count != want.get("count") or check.digest != want.get("digest"):
        report.problem(f"backup {backup_id}: the messages in its database are not the ones its manifest names "
                       f"({check.count} instead of {want.get('count')})")
    for table, n in counts.items():
        if n != manifest["counts"][table]:
            report.problem(f"backup {backup_id}: table {table} holds {n} rows, its manifest says {manifest['counts'][table]}")
    missing = [m[1] for m in media if m[1] not in have]
    known = set((manifest.get("media") or {}).get("problems") or ())
    unexplained = [k for k in missing if not any(p.startswith(k + ":") for p in known)]
    if unexplained:
        report.problem(f"backup {backup_id}: {len(unexplained)} stored media file(s) of the archive are in no backup "
                       f"of its chain (e.g. {unexplained[0]})")
    tick("audit trail")
    head = manifest.get("audit_head")
    expected = ChainHead(int(head["seq"]), head["hash"]) if head else None
    audit = AuditTrail(SnapshotDb(db_file)).check(expected_head=expected)  # type: ignore[arg-type]
    report.audit_entries = audit.checked
    if not audit.ok:
        report.problem(f"backup {backup_id}: {audit}")
    elif expected is not None and (audit.head is None or (audit.head.seq, audit.head.hash) != (expected.seq, expected.hash)):
        report.problem(f"backup {backup_id}: the audit trail's head is not the one its manifest recorded")
    return report
