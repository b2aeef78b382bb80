"""Moving stored media to another backend, re-verifying stored objects, and counting them.

``migrate_media`` copies every stored object whose media row names another backend onto the target,
checks the bytes against the row's SHA-256 twice (while reading the source, and by reading the copy
back from the target), and only then points the rows at the target, in small transactions. It is
resumable: rows already on the target are not selected again, and an object found complete on the
target (a run interrupted between copy and update) is verified and adopted without copying. Source
objects are never deleted. Objects are streamed; memory stays at a few buffers whatever their size.

``verify_media`` reads stored objects back and compares them with their recorded SHA-256 and size.
``media_status`` counts media rows per backend and status.

All three take the acting Actor first and block: run them off the GUI thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, Row, bindparam, func, or_, select, update

from app.core.actor import Actor
from app.core.store.db import Database, now_ms
from app.core.store.models import STORED, Media

from .storage import COPY_BUFFER, MediaNotFoundError, MediaStorage, StorageError

__all__ = ["MigrationReport", "VerifyReport", "media_status", "migrate_media", "verify_media"]

log = logging.getLogger(__name__)

PAGE = 200  # media rows read per query
UPDATE_BATCH = 20  # objects whose rows are updated in one transaction
REMEMBERED_KEYS = 100_000  # verified keys kept to skip duplicates (media rows sharing an object)
MAX_LISTED = 200  # problems listed in a report (all are counted)

ProgressFn = Callable[["MigrationProgress"], None]


class _Failed(Exception):
    """This object could not be moved or verified (the message says why); others go on."""


@dataclass
class MigrationProgress:
    """Where a migration or verification is: rows handled of ``total``, objects and bytes."""

    total: int
    done: int = 0
    objects: int = 0
    bytes: int = 0
    failed: int = 0


@dataclass
class MigrationReport:
    """What ``migrate_media`` did. ``complete``: every stored row is on the target now."""

    target: str
    total_rows: int
    objects_copied: int = 0
    objects_already: int = 0  # found complete on the target, verified, not copied again
    rows_moved: int = 0
    bytes_copied: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, reason), the first MAX_LISTED
    failed_objects: int = 0
    remaining_rows: int = 0
    remaining_bytes: int = 0
    dry_run: bool = False
    cancelled: bool = False
    by_backend: dict[str, int] = field(default_factory=dict)  # rows to move per source backend (dry run)

    @property
    def complete(self) -> bool:
        return not self.dry_run and not self.cancelled and self.failed_objects == 0 and self.remaining_rows == 0


@dataclass
class VerifyReport:
    checked_objects: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    problems: int = 0
    cancelled: bool = False

    @property
    def clean(self) -> bool:
        return self.problems == 0 and not self.cancelled


class _RecentKeys:
    """A bounded set of keys already handled in this run (oldest forgotten first)."""

    def __init__(self, limit: int = REMEMBERED_KEYS):
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._limit = limit

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self._keys

    def add(self, item: tuple[str, str]) -> None:
        self._keys[item] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)


class _HashingReader:
    """Reads through ``stream`` while hashing (SHA-256) and counting what passes."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def seekable(self) -> bool:
        return False


def _digest(stream: BinaryIO) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(COPY_BUFFER):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def _not_on(target: str) -> ColumnElement[bool]:
    return or_(Media.storage_backend.is_(None), Media.storage_backend != target)


def _remaining(db: Database, target: str) -> tuple[int, int]:
    with db.read() as conn:
        row = conn.execute(select(func.count(), func.coalesce(func.sum(Media.stored_size), 0))
                           .where(Media.status == STORED, _not_on(target))).one()
    return int(row[0]), int(row[1] or 0)  # coalesce: never NULL


def media_status(actor: Actor, db: Database) -> list[tuple[str, str, int, int]]:
    """(backend or "-", status, rows, bytes stored) for every combination present, sorted."""
    with db.read() as conn:
        rows = conn.execute(select(Media.storage_backend, Media.status, func.count(),
                                   func.coalesce(func.sum(Media.stored_size), 0))
                            .group_by(Media.storage_backend, Media.status)).all()
    return sorted((b or "-", s, int(n), int(size or 0)) for b, s, n, size in rows)  # coalesce: never NULL


def migrate_media(actor: Actor, db: Database, target: MediaStorage, source_for: Callable[[str], MediaStorage], *,
                  dry_run: bool = False, progress: ProgressFn | None = None,
                  cancel: Callable[[], bool] | None = None) -> MigrationReport:
    """Copy and verify every stored object not yet on ``target``, then point its rows at it.

    ``source_for(backend_name)`` opens the backend a row names ("local" for rows without one).
    ``dry_run`` only counts what would move. A failing object is reported and skipped (its rows keep
    their backend); a StorageError that means the target itself is unusable (credentials, bucket,
    network after retries) stops the run at once, since every object would fail the same way.
    ``cancel`` is polled between objects. Raises StorageError in that case; nothing is lost either way.
    """
    total, total_bytes = _remaining(db, target.name)
    report = MigrationReport(target=target.name, total_rows=total, dry_run=dry_run)
    if dry_run:
        with db.read() as conn:
            for backend, n in conn.execute(select(Media.storage_backend, func.count())
                                           .where(Media.status == STORED, _not_on(target.name))
                                           .group_by(Media.storage_backend)):
                report.by_backend[backend or "local"] = int(n)
        report.remaining_rows, report.remaining_bytes = total, total_bytes
        return report
    state = MigrationProgress(total=total)
    recent = _RecentKeys()
    moves: list[tuple[list[int], str]] = []  # (row ids, key) verified on the target, not yet recorded
    last_id = -1

    def flush() -> None:
        if not moves:
            return
        now = now_ms()
        params = [{"mid": mid, "key": key, "target": target.name, "now": now} for ids, key in moves for mid in ids]
        stmt = (update(Media).where(Media.id == bindparam("mid"), Media.status == STORED,
                                    Media.storage_key == bindparam("key"))
                .values(storage_backend=bindparam("target"), updated_at=bindparam("now")))
        with db.write() as conn:
            result = conn.execute(stmt.execution_options(synchronize_session=False), params)
        report.rows_moved += max(result.rowcount, 0) if result.rowcount is not None else len(params)
        moves.clear()

    try:
        while True:
            with db.read() as conn:
                page = conn.execute(
                    select(Media.id, Media.storage_key, Media.storage_backend, Media.sha256, Media.stored_size)
                    .where(Media.status == STORED, _not_on(target.name), Media.id > last_id)
                    .order_by(Media.id).limit(PAGE)).all()
            if not page:
                break
            last_id = page[-1].id
            groups: OrderedDict[tuple[str, str], list[Row[*tuple[Any, ...]]]] = OrderedDict()
            for row in page:
                groups.setdefault((row.storage_backend or "local", row.storage_key or ""), []).append(row)
            for (source_name, key), rows in groups.items():
                if cancel is not None and cancel():
                    report.cancelled = True
                    return report
                first = rows[0]
                if (target.name, key) in recent:
                    moves.append(([r.id for r in rows], key))
                else:
                    try:
                        outcome = _move_one(key, first.sha256, first.stored_size, source_for(source_name), target)
                    except _Failed as exc:
                        report.failed_objects += 1
                        state.failed += 1
                        if len(report.failures) < MAX_LISTED:
                            report.failures.append((key, str(exc)))
                        log.warning("media migration: %s: %s", key, exc)
                    else:
                        if outcome == "copied":
                            report.objects_copied += 1
                            report.bytes_copied += first.stored_size or 0
                        else:
                            report.objects_already += 1
                        recent.add((target.name, key))
                        moves.append(([r.id for r in rows], key))
                        state.objects += 1
                        state.bytes += first.stored_size or 0
                state.done += len(rows)
                if len(moves) >= UPDATE_BATCH:
                    flush()
                if progress is not None:
                    progress(state)
    finally:
        flush()
        report.remaining_rows, report.remaining_bytes = _remaining(db, target.name)
    return report


def _move_one(key: str, sha256: str | None, size: int | None, source: MediaStorage, target: MediaStorage) -> str:
    """Copy one object and verify it on the target: "copied", or "already" if it was there intact."""
    if not key or not sha256:
        raise _Failed("the media row has no storage key or SHA-256 to verify against")
    try:
        present = target.size(key)
        if present is not None:
            if present == size and _read_back(target, key) == sha256:
                return "already"
            log.info("media migration: %s on %s is incomplete or different; copying it again", key, target.name)
        with source.open(key) as src:
            seekable = False
            with contextlib.suppress(AttributeError, OSError, ValueError):
                seekable = bool(src.seekable())
            if seekable:  # a local file: check it first, then upload it in place
                digest, length = _digest(src)
                if digest != sha256:
                    raise _Failed(f"the source object in {source.name} does not match its recorded SHA-256 "
                                  f"({digest[:12]}… ≠ {sha256[:12]}…); not copied")
                src.seek(0)
                target.put(key, src, size=length)
            else:
                reader = _HashingReader(src)
                # put() needs only read(); seekable() says False and fileno() is absent, both handled there
                target.put(key, reader, size=size)  # type: ignore[arg-type]
                if reader.sha256.hexdigest() != sha256:
                    target.delete([key])
                    raise _Failed(f"the source object in {source.name} does not match its recorded SHA-256; "
                                  "not copied")
        back = _read_back(target, key)
        if back != sha256:
            raise _Failed(f"the copy read back from {target.name} does not match the SHA-256 "
                          f"({back[:12]}… ≠ {sha256[:12]}…)")
    except StorageError as exc:
        if exc.backend_unusable:  # every object would fail alike: stop and say why
            raise
        raise _Failed(str(exc)) from exc
    return "copied"


def _read_back(storage: MediaStorage, key: str) -> str:
    with storage.open(key) as f:
        return _digest(f)[0]


def verify_media(actor: Actor, db: Database, storage_for: Callable[[str], MediaStorage], *,
                 backend: str | None = None, progress: ProgressFn | None = None,
                 cancel: Callable[[], bool] | None = None) -> VerifyReport:
    """Read every stored object (of ``backend``, or all) and compare it with its row's SHA-256 and size.

    Each object is read once even when several rows share it. Raises StorageError only when a backend
    cannot be used at all (credentials, bucket, network); a missing or different object is reported.
    """
    where = [Media.status == STORED]
    if backend is not None:
        where.append(Media.storage_backend == backend if backend != "local"
                     else or_(Media.storage_backend == "local", Media.storage_backend.is_(None)))
    with db.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(Media).where(*where)).scalar() or 0)
    report = VerifyReport()
    state = MigrationProgress(total=total)
    recent = _RecentKeys()
    last_id = -1
    while True:
        with db.read() as conn:
            page = conn.execute(select(Media.id, Media.storage_key, Media.storage_backend, Media.sha256,
                                       Media.stored_size)
                                .where(*where, Media.id > last_id).order_by(Media.id).limit(PAGE)).all()
        if not page:
            return report
        last_id = page[-1].id
        for row in page:
            if cancel is not None and cancel():
                report.cancelled = True
                return report
            state.done += 1
            name, key = row.storage_backend or "local", row.storage_key or ""
            if (name, key) in recent:
                continue
            recent.add((name, key))
            report.checked_objects += 1
            storage = storage_for(name)
            try:
                with storage.open(key) as f:
                    digest, size = _digest(f)
            except MediaNotFoundError:
                _note(report, report.missing, f"{name}:{key}")
                continue
            except StorageError as exc:
                if exc.backend_unusable:
                    raise
                if exc.kind == "corrupt":  # the bytes differ from what the service stored
                    _note(report, report.mismatched, f"{name}:{key}")
                else:
                    report.problems += 1
                    if len(report.errors) < MAX_LISTED:
                        report.errors.append((f"{name}:{key}", str(exc)))
                continue
            state.objects += 1
            state.bytes += size
            if digest != row.sha256 or (row.stored_size is not None and size != row.stored_size):
                _note(report, report.mismatched, f"{name}:{key}")
            else:
                report.ok += 1
            if progress is not None:
                progress(state)


def _note(report: VerifyReport, bucket: list[str], item: str) -> None:
    report.problems += 1
    if len(bucket) < MAX_LISTED:
        bucket.append(item)
