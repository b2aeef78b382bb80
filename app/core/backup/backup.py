"""Making a backup (``wecom-auditor backup --to PATH``): see repository.py for what it writes.

A backup is written in a hidden staging folder inside PATH and renamed to its id only when complete,
in the transaction that records it in the audit trail: a backup killed at any moment leaves no
folder that looks like a backup (the next one removes the staging folder), and the backups before
it are never touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets as _secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.actor import Actor
from app.core.store.db import now_ms

from .errors import BackupCancelled, BackupError
from .repository import (
    DATABASE_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MEDIA_LIST,
    PUBLIC_KEY,
    SETTINGS_FILE,
    SIGNATURE,
    STAGING_PREFIX,
    archive_identity,
    backup_ids,
    check_messages,
    read_manifest,
    read_media_list,
    sha256_file,
    stored_media,
    table_counts,
)
from .snapshot import ordered_tables, read_only, snapshot_database

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
_LOCK = ".lock"
_STALE_S = 24 * 3600  # where no file lock exists (Windows), a staging folder this old is abandoned


@dataclass(frozen=True)
class BackupResult:
    backup_id: str
    path: Path
    previous: str | None  # the backup this one continues (None: a full backup)
    messages: int
    media_added: int
    media_added_bytes: int
    media_problems: list[str]  # stored media that could not be read or did not match its SHA-256
    manifest_sha256: str
    audit_head: str


def _lock_file(path: Path, *, blocking: bool) -> int | None:
    """An exclusive lock on ``path`` (created): its fd, or None if another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; staging folders are aged out instead
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return fd
    except OSError:
        os.close(fd)
        return None


def clean_staging(repo: Path) -> list[str]:
    """Remove what killed backups left in ``repo`` (staging folders no running backup holds)."""
    removed: list[str] = []
    try:
        entries = [p for p in repo.iterdir() if p.name.startswith(STAGING_PREFIX) and p.is_dir()]
    except OSError:
        return removed
    for folder in entries:
        lock = folder / _LOCK
        try:
            import fcntl  # noqa: F401
        except ImportError:
            if time.time() - folder.stat().st_mtime < _STALE_S:
                continue
        else:
            if lock.exists():
                fd = _lock_file(lock, blocking=False)
                if fd is None:
                    continue  # a backup is running there
                os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


def chain_of(repo: Path, backup_id: str) -> list[tuple[str, dict, bytes]]:
    """The backups from the first (full) one to ``backup_id``, oldest first, each with its manifest;
    BackupError naming the first one that is missing or whose manifest was changed."""
    out: list[tuple[str, dict, bytes]] = []
    current: str | None = backup_id
    expected: str | None = None
    seen: set[str] = set()
    while current is not None:
        if current in seen:
            raise BackupError(f"the chain of backups loops at {current}: the backups were altered",
                              f"备份链在 {current} 处形成循环：备份被改动过")
        seen.add(current)
        folder = repo / current
        if not (folder / MANIFEST).is_file():
            after = f" (the backup before {out[-1][0]})" if out else ""
            after_zh = f"（{out[-1][0]} 的前一个备份）" if out else ""
            raise BackupError(f"backup {current}{after} is missing from {repo}: the backups after it cannot be "
                              f"restored completely",
                              f"{repo} 中缺少备份 {current}{after_zh}：其后的备份无法完整恢复")
        doc, data = read_manifest(folder)
        if expected is not None and _sha256(data) != expected:
            raise BackupError(f"backup {current} was altered: its manifest is not the one backup {out[-1][0]} "
                              f"continues", f"备份 {current} 被改动过：其清单不是备份 {out[-1][0]} 所接续的那一份")
        out.append((current, doc, data))
        prev = doc.get("previous")
        current, expected = (prev["backup_id"], prev["manifest_sha256"]) if prev else (None, None)
    return list(reversed(out))


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _copy_object(storage, key: str, target: Path, sha256: str, size: int) -> str | None:
    """Copy one media object out of storage into ``target``; None, or the problem (one sentence)."""
    import hashlib

    from app.core.media.storage import StorageError

    target.parent.mkdir(parents=True, exist_ok=True)
    h, n = hashlib.sha256(), 0
    tmp = target.with_name(target.name + ".part")
    try:
        with storage.open(key) as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                dst.write(chunk)
                n += len(chunk)
    except StorageError as exc:
        tmp.unlink(missing_ok=True)
        return f"{key}: cannot be read from {storage.describe()} ({exc.reason})"
    if h.hexdigest() != sha256 or n != size:
        tmp.unlink(missing_ok=True)
        return f"{key}: the stored file does not match its SHA-256 (it changed in storage)"
    os.replace(tmp, target)
    return None


def _hide_password(url: str) -> str:
    from app.core.auth.audit import redact_value

    return redact_value("url", url)


def make_backup(ctx, actor: Actor, repo: str | os.PathLike[str], *, full: bool = False,
                progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> BackupResult:
    """Back up the archive of ``ctx`` into the backup folder ``repo`` (created if missing): a
    consistent copy of the database, the media objects no earlier backup of its chain holds (all of
    them with ``full``), the settings, and a signed manifest. Needs ``backup.run`` (recorded, as is
    the backup). ``progress(phase, done, total)``; ``cancel()`` → BackupCancelled (nothing left).
    BackupError (one sentence) when it cannot be made; the export key may ask for its passphrase
    (ExportKeyError)."""
    from app.core.auth import BACKUP_RUN, Action, AuditTrail
    from app.core.auth.audit import FAILED
    from app.core.config.settings import settings_dict
    from app.core.export.signing import load_or_create_export_key

    trail = AuditTrail(ctx.db)
    repo = Path(repo).expanduser().absolute()
    trail.require(actor, BACKUP_RUN, action=Action.BACKUP, object_type="backup", object=str(repo))
    try:
        repo.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup folder {repo}: {exc.strerror or exc}",
                          f"无法创建备份文件夹 {repo}：{exc.strerror or exc}") from None
    clean_staging(repo)
    key = load_or_create_export_key(ctx.secrets, ctx.paths.data_dir)

    def step(phase: str, done: int = 0, total: int = 0) -> None:
        if cancel is not None and cancel():
            raise BackupCancelled("the backup was cancelled; earlier backups are unchanged", "备份已取消；之前的备份未受影响")
        if progress is not None:
            progress(phase, done, total)

    backup_id, started = _new_backup_id(repo)
    staging = repo / f"{STAGING_PREFIX}{_secrets.token_hex(6)}"
    staging.mkdir(mode=0o700)
    lock_fd = _lock_file(staging / _LOCK, blocking=True)
    final = repo / backup_id
    try:
        (staging / "database").mkdir()
        step("database")
        db_file = staging / DATABASE_FILE
        revision = snapshot_database(ctx.db, db_file, progress=lambda p, d, t: step("database", d, t), cancel=cancel)
        step("messages")
        with read_only(db_file) as conn:
            archive_id = archive_identity(conn)
            tables = ordered_tables(conn)
            counts = table_counts(conn, tables)
            check = check_messages(conn, cancel=cancel)
            head = conn.execute(_head_query()).first()
            media = stored_media(conn)
        if check.bad_count:
            log.warning("backup %s: %d message(s) whose stored JSON does not match its SHA-256", backup_id,
                        check.bad_count)
        previous: dict[str, Any] | None = None
        have: set[str] = set()
        if not full:
            previous, have = _continue_chain(repo, archive_id)
        added, added_bytes = 0, 0
        problems: list[str] = []
        lines: list[str] = []
        total = sum(1 for m in media if m[1] not in have)
        for backend, mkey, sha, size in media:
            if mkey in have:
                continue
            step("media", added + len(problems), total)
            problem = _copy_object(ctx.storage_for(backend), mkey, staging / "media" / mkey, sha, size)
            if problem:
                problems.append(problem)
                continue
            have.add(mkey)
            lines.append(f"{sha} {size} {mkey}\n")
            added += 1
            added_bytes += size
        (staging / MEDIA_LIST).write_text("".join(sorted(lines)), encoding="utf-8")
        settings = settings_dict(ctx.settings)
        settings["database_url"] = _hide_password(settings.get("database_url") or "")
        (staging / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False, indent=2), encoding="utf-8")
        step("manifest")
        files = {rel: {"sha256": sha256_file(staging / rel), "size": (staging / rel).stat().st_size}
                 for rel in (DATABASE_FILE, SETTINGS_FILE, MEDIA_LIST)}
        manifest = {
            "format": FORMAT, "version": FORMAT_VERSION, "backup_id": backup_id, "created_at": started,
            "finished_at": now_ms(), "created_by": actor.username, "workstation": actor.workstation or socket.gethostname(),
            "app_version": _app_version(),
            "archive": {"id": archive_id, "database": ctx.db.dialect, "url": ctx.db.display_url,
                        "schema_revision": revision},
            "kind": "incremental" if previous else "full",
            "previous": previous,
            "counts": counts,
            "messages": {"count": check.count, "digest": check.digest, "hash_mismatches": check.bad_count},
            "audit_head": {"seq": head.seq, "hash": head.hash} if head else None,
            "media": {"referenced": len(media), "referenced_bytes": sum(m[3] for m in media), "added": added,
                      "added_bytes": added_bytes, "problems": problems[:1000], "problem_count": len(problems)},
            "files": files,
            "search_index": "not included: rebuilt from the archive after a restore (wecom-auditor reindex)",
            "key_fingerprint": key.fingerprint,
        }
        data = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
        (staging / MANIFEST).write_bytes(data)
        (staging / SIGNATURE).write_bytes(key.sign_b64(data))
        (staging / PUBLIC_KEY).write_bytes(key.public_pem)
        step("done")
        _fsync_tree(staging)
        manifest_sha = _sha256(data)
        with ctx.db.write() as conn:
            trail.record(actor, Action.BACKUP, object_type="backup", object=backup_id,
                         detail={"path": str(final), "manifest_sha256": manifest_sha, "kind": manifest["kind"],
                                 "previous": (previous or {}).get("backup_id"), "messages": check.count,
                                 "media_added": added, "media_problems": len(problems),
                                 "audit_head": manifest["audit_head"], "key_fingerprint": key.fingerprint},
                         conn=conn)
            (staging / _LOCK).unlink()
            os.rename(staging, final)  # inside the transaction: recorded if and only if it is there
    except BaseException as exc:
        if lock_fd is not None:
            os.close(lock_fd)
            lock_fd = None
        if final.exists() and not (staging.exists()):
            os.rename(final, staging)  # the record did not commit: the backup is not there either
        shutil.rmtree(staging, ignore_errors=True)
        if not isinstance(exc, BackupCancelled | KeyboardInterrupt):
            with contextlib.suppress(Exception):  # the backup's own error is the one to report
                trail.record(actor, Action.BACKUP, object_type="backup", object=str(repo), outcome=FAILED,
                             detail={"error": str(exc)[:300] if isinstance(exc, BackupError) else type(exc).__name__})
        raise
    finally:
        if lock_fd is not None:
            os.close(lock_fd)
    _fsync_dir(repo)
    return BackupResult(backup_id, final, (previous or {}).get("backup_id"), check.count, added, added_bytes,
                        problems, manifest_sha, f"#{head.seq} {head.hash}" if head else "")


def _new_backup_id(repo: Path) -> tuple[str, int]:
    """(id, its time in ms) of a new backup in ``repo``, sorting after every backup already there.

    Ids sort by time to the second ("newest" and the chain an incremental backup continues are the
    last in that order); two backups in one second (a scheduled one beside a manual one, a script)
    would otherwise be ordered by their random suffix. In the second of the newest backup the suffix
    is drawn above its suffix; when none is left, the next second is waited for."""
    newest = (backup_ids(repo) or [""])[-1]
    for _ in range(3):
        started = now_ms()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started / 1000))
        if stamp != newest[:16]:
            return f"{stamp}-{_secrets.token_hex(3)}", started
        low = int(newest[17:], 16) + 1
        if low <= 0xFFFFFF:
            return f"{stamp}-{low + _secrets.randbelow(0x1000000 - low):06x}", started
        time.sleep(1.0 - (started % 1000) / 1000)
    raise BackupError(f"no backup id after {newest} can be made in {repo}: this computer's clock does not advance",
                      f"无法在 {repo} 中生成晚于 {newest} 的备份编号：本机时钟没有前进")


def _head_query():
    from sqlalchemy import text

    return text("SELECT seq, hash FROM audit_head WHERE id = 1")


def _continue_chain(repo: Path, archive_id: str) -> tuple[dict | None, set[str]]:
    """The newest backup of this archive in ``repo`` (to continue) and the media keys its chain holds."""
    for bid in reversed(backup_ids(repo)):
        try:
            doc, data = read_manifest(repo / bid)
        except BackupError:
            continue
        if (doc.get("archive") or {}).get("id") != archive_id:
            continue
        try:
            chain = chain_of(repo, bid)
        except BackupError as exc:
            raise BackupError(f"{exc}; make a full backup (--full) to start a new chain",
                              f"{exc.message_zh}；请做一次完整备份（--full）以开始新的备份链") from None
        have: set[str] = set()
        for cid, _doc, _data in chain:
            have.update(e.key for e in read_media_list(repo / cid / MEDIA_LIST))
        return {"backup_id": bid, "manifest_sha256": _sha256(data)}, have
    others = [b for b in backup_ids(repo)]
    if others:
        log.info("no earlier backup of this archive in %s (it holds backups of another archive): a full backup", repo)
    return None, set()


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _app_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("wecom-archive-auditor")
    except metadata.PackageNotFoundError:
        return "unknown"
