"""Restoring a backup into an empty data folder and/or an empty database (``wecom-auditor restore``).

1. The backup and its chain are verified first (verify.py); a backup with any problem is not
   restored.
2. The settings are written (the database URL becomes the target's, a local media folder the new
   data folder's), then the database: a SQLite target gets the copy under a temporary name renamed
   into place; a MySQL/MariaDB target gets the schema at the backup's revision and every row, and
   its ``alembic_version`` row last — until then the app refuses to open it as an archive.
3. Every media object goes back into the storage its rows name (one already there with the right
   size is kept, and checked below).
4. The restored archive is verified in full: every message's SHA-256, the set of messages (the
   manifest's digest), the table counts, every media object read back and hashed, and the audit
   chain up to the manifest's head. Only then is ``restore`` recorded in its audit trail.

A restore that stops midway (killed, cancelled, a full disk) is started again with the same
command: the marker ``.restore-in-progress.json`` in the data folder lets it replace what the
interrupted one wrote, and nothing else.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from ..files import write_atomic
from .errors import BackupCancelled, BackupError
from .repository import (
    DATABASE_FILE,
    GROWING_TABLES,
    MEDIA_LIST,
    SETTINGS_FILE,
    VOLATILE_TABLES,
    check_messages,
    read_media_list,
    sha256_file,
    stored_media,
    table_counts,
)
from .snapshot import copy_rows, create_schema, ordered_tables, read_only
from .verify import latest_backup, verify_backup

Progress = Callable[[str, int, int], None]
MARKER = ".restore-in-progress.json"


@dataclass(frozen=True)
class RestoreResult:
    backup_id: str
    data_dir: Path
    db_url: str  # without its password
    messages: int
    media_files: int
    audit_entries: int


def _say(progress, cancel, phase, done=0, total=0):
    if cancel is not None and cancel():
        raise BackupCancelled("the restore was cancelled; run it again to finish it", "恢复已取消；再次运行即可完成")
    if progress is not None:
        progress(phase, done, total)


def restore_backup(repo: str | os.PathLike[str], backup_id: str | None = None, *,
                   data_dir: str | os.PathLike[str], db_url: str | None = None,
                   progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> RestoreResult:
    """Restore backup ``backup_id`` (default: the newest) of ``repo`` into the empty data folder
    ``data_dir`` and the empty database ``db_url`` (default: SQLite in that folder); see the module
    docstring. BackupError (one sentence, nothing changed) for a backup that fails verification or a
    target that is not empty."""
    from app.core.config.database import sqlite_url
    from app.core.config.paths import AppPaths
    from app.core.config.secrets import SecretStore
    from app.core.store.db import _normalise, check_sqlite_archive, redact

    repo = Path(repo).expanduser().absolute()
    backup_id = backup_id or latest_backup(repo)
    _say(progress, cancel, "verifying the backup")
    report = verify_backup(repo, backup_id, progress=progress, cancel=cancel)
    if not report.ok:
        raise BackupError(f"backup {backup_id} fails verification, so nothing was restored: {report.problems[0]}",
                          f"备份 {backup_id} 未通过校验，因此没有恢复任何内容：{report.problems[0]}")
    manifest = report.manifest
    chain = report.chain
    paths = AppPaths.resolve(data_dir)
    paths.ensure()
    marker = paths.data_dir / MARKER
    resuming = marker.is_file() and _marker_backup(marker) == backup_id
    url = db_url or sqlite_url(paths.default_database)
    sa_url = _normalise(SecretStore().database_url(url))
    shown = redact(url)
    sqlite_target: Path | None = None
    if sa_url.get_backend_name() == "sqlite":
        if not sa_url.database or sa_url.database == ":memory:":
            raise BackupError(f"{shown} is an in-memory database: restore into a file or a database server",
                              f"{shown} 是内存数据库：请恢复到文件或数据库服务器")
        sqlite_target = Path(sa_url.database)
    if not resuming:
        if paths.settings_file.exists():
            raise BackupError(f"{paths.data_dir} holds settings already: restore into an empty data folder",
                              f"{paths.data_dir} 中已有设置：请恢复到空的数据文件夹")
        if paths.media_dir.is_dir() and any(paths.media_dir.iterdir()):
            raise BackupError(f"{paths.media_dir} holds media already: restore into an empty data folder",
                              f"{paths.media_dir} 中已有媒体文件：请恢复到空的数据文件夹")
        if sqlite_target is not None and sqlite_target.exists() and not check_sqlite_archive(sqlite_target):
            raise BackupError(f"{sqlite_target} is an archive already: restore into a new file",
                              f"{sqlite_target} 已经是存档：请恢复到新文件")
    engine = create_engine(sa_url) if sqlite_target is None else None
    try:
        if engine is not None:
            with engine.connect() as conn:
                tables = inspect(conn).get_table_names()
            if tables and not resuming:
                raise BackupError(f"the database {shown} is not empty: restore into an empty database",
                                  f"数据库 {shown} 不是空的：请恢复到空数据库")
        if not resuming:  # never rewritten: a kill while writing it must not make the restore start anew
            write_atomic(marker, json.dumps({"backup_id": backup_id, "repo": str(repo)}).encode("utf-8"))

        # ---------------------------------------------------------------- settings
        settings = json.loads((repo / backup_id / SETTINGS_FILE).read_text(encoding="utf-8"))
        settings["database_url"] = db_url if db_url and sqlite_target is None else ""
        storage = settings.get("storage") or {}
        if isinstance(storage.get("local"), dict):
            storage["local"]["folder"] = ""
        _write_settings(paths, settings)

        # ---------------------------------------------------------------- database
        source = repo / backup_id / DATABASE_FILE
        revision = manifest["archive"]["schema_revision"]
        _say(progress, cancel, "database")
        if sqlite_target is not None:
            tmp = sqlite_target.with_name(sqlite_target.name + ".restoring")
            for side in ("", "-wal", "-shm", "-journal"):
                Path(f"{sqlite_target}{side}").unlink(missing_ok=True)
            shutil.copyfile(source, tmp)
            if sha256_file(tmp) != manifest["files"][DATABASE_FILE]["sha256"]:
                raise BackupError(f"the copy of the database at {tmp} does not match the backup (a failing disk?)",
                                  f"{tmp} 处的数据库副本与备份不一致（磁盘故障？）")
            os.chmod(tmp, 0o600)
            os.replace(tmp, sqlite_target)
        else:
            assert engine is not None  # made above for a database server
            with engine.begin() as conn:
                for t in reversed(ordered_tables(conn)):
                    conn.execute(text(f"DROP TABLE `{t}`"))
            create_schema(engine, revision)
            with read_only(source) as src, engine.begin() as dst:
                dst.execute(text("DELETE FROM alembic_version"))  # not an archive until the rows are all in
                tables = [t for t in ordered_tables(src) if t != "alembic_version"]
                copy_rows(src, dst, tables, progress=lambda p, d, t: _say(progress, cancel, "database", d, t),
                          cancel=cancel)

        # ---------------------------------------------------------------- media
        where: dict[str, str] = {}
        for bid in chain:
            for e in read_media_list(repo / bid / MEDIA_LIST):
                where[e.key] = bid
        with read_only(source) as conn:
            media = stored_media(conn)
        from app.core.context import AppContext

        ctx = AppContext(paths.data_dir, db_url if sqlite_target is None else None)
        try:
            for n, (backend, key, _sha, size) in enumerate(media):
                _say(progress, cancel, "media", n, len(media))
                holder = where.get(key)
                if holder is None:
                    continue  # unreadable when the backup was made (listed in its manifest)
                target = ctx.storage_for(backend)
                if target.size(key) == size:
                    continue
                with open(repo / holder / "media" / key, "rb") as f:
                    target.put(key, f, size=size)
            if engine is not None:
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})
            result = _verify_restored(ctx, manifest, media, where, progress, cancel)
            _record(ctx, backup_id, repo, manifest, result)
        finally:
            ctx.close()
        marker.unlink(missing_ok=True)
        return RestoreResult(backup_id, paths.data_dir, shown, *result)
    finally:
        if engine is not None:
            engine.dispose()


def _marker_backup(marker: Path) -> str | None:
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("backup_id")
    except (OSError, ValueError, AttributeError):
        return None


def _write_settings(paths, raw: dict) -> None:
    from app.core.config.settings import load_settings

    paths.config_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(paths.settings_file, json.dumps(raw, ensure_ascii=False, indent=2).encode("utf-8"))
    load_settings(paths)  # a settings file this version cannot read fails here, named


def _verify_restored(ctx, manifest: dict, media, where, progress, cancel) -> tuple[int, int, int]:
    """Check the restored archive against the manifest; BackupError naming the first difference."""
    import hashlib

    from app.core.auth.audit import AuditTrail, ChainHead
    from app.core.media.storage import StorageError

    db = ctx.db  # opens (and migrates) the restored archive
    _say(progress, cancel, "checking messages")
    with db.read() as conn:
        check = check_messages(conn, cancel=cancel)
        names = [t for t in manifest["counts"] if t not in VOLATILE_TABLES]
        counts = table_counts(conn, names)
    want = manifest["messages"]
    if check.count != want["count"] or check.digest != want["digest"]:
        raise BackupError(f"the restored archive holds {check.count} messages that are not exactly the backup's "
                          f"{want['count']}: the restore is incomplete; run it again",
                          f"恢复后的存档有 {check.count} 条消息，与备份的 {want['count']} 条不完全一致：恢复不完整，"
                          f"请再次运行")
    if check.bad_count > int(want.get("hash_mismatches") or 0):
        raise BackupError(f"{check.bad_count} restored message(s) do not match their SHA-256: run the restore again",
                          f"恢复后有 {check.bad_count} 条消息与其 SHA-256 不符：请再次运行恢复")
    for t, n in counts.items():
        expected = manifest["counts"][t]
        if n < expected or (n != expected and t not in GROWING_TABLES):
            raise BackupError(f"the restored table {t} holds {n} rows instead of {expected}: run the restore again",
                              f"恢复后的表 {t} 有 {n} 行而不是 {expected} 行：请再次运行恢复")
    stored = 0
    for n, (backend, key, sha, _size) in enumerate(media):
        if key not in where:
            continue
        _say(progress, cancel, "checking media", n, len(media))
        h = hashlib.sha256()
        try:
            with ctx.storage_for(backend).open(key) as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        except StorageError as exc:
            raise BackupError(f"the restored media file {key} cannot be read ({exc.reason}): run the restore again",
                              f"无法读取恢复后的媒体文件 {key}（{exc.reason}）：请再次运行恢复") from None
        if h.hexdigest() != sha:
            raise BackupError(f"the restored media file {key} does not match its SHA-256: run the restore again",
                              f"恢复后的媒体文件 {key} 与其 SHA-256 不符：请再次运行恢复")
        stored += 1
    _say(progress, cancel, "checking the audit trail")
    head = manifest.get("audit_head")
    expected_head = ChainHead(int(head["seq"]), head["hash"]) if head else None
    audit = AuditTrail(db).check(expected_head=expected_head)
    if not audit.ok:
        raise BackupError(f"the restored {audit}", f"恢复后的审计记录校验未通过：{audit}")
    if expected_head is not None and audit.head != expected_head:
        raise BackupError("the restored audit trail does not end at the head the backup recorded: run the restore again",
                          "恢复后的审计记录没有结束在备份记录的末端：请再次运行恢复")
    return check.count, stored, audit.checked


def _record(ctx, backup_id: str, repo: Path, manifest: dict, result) -> None:
    from app.core.actor import Actor
    from app.core.auth.audit import Action, AuditTrail

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    AuditTrail(ctx.db).record(
        Actor.system("restore"), Action.RESTORE, object_type="backup", object=backup_id,
        detail={"repo": str(repo), "os_user": os_user, "backup_created_at": manifest.get("created_at"),
                "backup_created_by": manifest.get("created_by"), "messages": result[0], "media_files": result[1],
                "audit_entries_verified": result[2], "audit_head": manifest.get("audit_head"),
                "key_fingerprint": manifest.get("key_fingerprint")})
