"""A backup folder (the ``--to PATH`` of ``wecom-auditor backup``) and what is in it.

::

    PATH/
      20261212T020000Z-3fa9c1/      one backup (its id), never changed once renamed into place
        manifest.json               what it holds: counts, digests, the audit chain head, file hashes,
                                    the previous backup it continues (id + SHA-256 of its manifest)
        manifest.sig                Ed25519 signature of manifest.json (base64), by the export key
        public-key.pem              the signing key's public half
        database/archive.db         the archive database at one instant (SQLite; see snapshot.py)
        settings.json               the settings (they hold no secret)
        media.txt                   "sha256 size key" of every media object this backup added
        media/<key>                 those objects (content-addressed: only ones no earlier backup
                                    of the chain holds)
      .backup-<random>/             a backup being written (removed if it never finished)

A backup's media are those of its own folder and of every backup before it in its chain, back to
the first (full) one: so deleting or changing any of them is named by ``backup verify``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from .errors import BackupError

FORMAT = "wecom-auditor backup"
FORMAT_VERSION = 1
MANIFEST, SIGNATURE, PUBLIC_KEY = "manifest.json", "manifest.sig", "public-key.pem"
DATABASE_FILE, SETTINGS_FILE, MEDIA_LIST = "database/archive.db", "settings.json", "media.txt"
STAGING_PREFIX = ".backup-"
BACKUP_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
_MAX_MANIFEST = 16 * 1024 * 1024
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}(\.[a-z0-9]{1,8})?")


@dataclass(frozen=True)
class MediaEntry:
    sha256: str
    size: int
    key: str


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def backup_ids(repo: Path) -> list[str]:
    """The complete backups in ``repo``, oldest first (ids sort by time)."""
    try:
        entries = list(repo.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BackupError(f"cannot read the backup folder {repo}: {exc.strerror or exc}",
                          f"无法读取备份文件夹 {repo}：{exc.strerror or exc}") from None
    return sorted(p.name for p in entries if BACKUP_ID.fullmatch(p.name) and (p / MANIFEST).is_file())


def read_manifest(folder: Path) -> tuple[dict, bytes]:
    """The manifest of the backup in ``folder`` and its bytes; BackupError if it is not readable."""
    path = folder / MANIFEST
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_MANIFEST + 1)
    except FileNotFoundError:
        raise BackupError(f"backup {folder.name} is missing (no {path})", f"缺少备份 {folder.name}（没有 {path}）") from None
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}", f"无法读取 {path}：{exc.strerror or exc}") from None
    try:
        if len(data) > _MAX_MANIFEST:
            raise ValueError("too large")
        doc = json.loads(data.decode("utf-8"))
        if doc.get("format") != FORMAT or not isinstance(doc.get("version"), int):
            raise ValueError("not a backup manifest")
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{path} is not a backup manifest of this app", f"{path} 不是本应用的备份清单") from None
    if doc["version"] > FORMAT_VERSION:
        raise BackupError(f"backup {folder.name} was made by a newer version of the app: update it to read the backup",
                          f"备份 {folder.name} 由更新版本的应用制作：请先升级应用再读取")
    return doc, data


def read_media_list(path: Path) -> Iterator[MediaEntry]:
    """The lines of a media.txt; BackupError naming the line for anything else."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(" ")
            if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{64}", parts[0]) or not parts[1].isdigit() \
                    or not _KEY.fullmatch(parts[2]):
                raise BackupError(f"{path} line {n} is not a media entry: the backup was altered",
                                  f"{path} 第 {n} 行不是媒体条目：备份被改动过")
            yield MediaEntry(parts[0], int(parts[1]), parts[2])


def archive_identity(conn) -> str:
    """An id of the archive that survives backup and restore: from its first id-node row (written
    when the archive was created, never changed)."""
    row = conn.execute(text("SELECT id, host, created_at FROM id_nodes ORDER BY id LIMIT 1")).first()
    seed = "empty" if row is None else f"{row.id}|{row.host}|{row.created_at}"
    return hashlib.sha256(f"wecom-auditor/archive/{seed}".encode()).hexdigest()


@dataclass
class MessageCheck:
    count: int
    digest: str  # SHA-256 over one JSON line [msgid, raw_sha256] per message, in id order
    bad: list[str]  # msgids whose stored JSON does not hash to their recorded SHA-256 (first 20)
    bad_count: int


def check_messages(conn, *, page: int = 2000, cancel=None) -> MessageCheck:
    """Hash every message's stored JSON and compare it with its recorded SHA-256; the digest of
    the (msgid, SHA-256) list names the set of messages exactly."""
    digest = hashlib.sha256()
    last, count, bad_count = None, 0, 0
    bad: list[str] = []
    while True:
        if cancel is not None and cancel():
            from .errors import BackupCancelled

            raise BackupCancelled("cancelled", "已取消")
        q = "SELECT id, msgid, raw_json, raw_sha256 FROM messages"
        rows = conn.execute(text(q + (" WHERE id > :last" if last is not None else "") + " ORDER BY id LIMIT :n"),
                            {"last": last, "n": page}).all()
        for r in rows:
            if hashlib.sha256(bytes(r.raw_json)).hexdigest() != r.raw_sha256:
                bad_count += 1
                if len(bad) < 20:
                    bad.append(r.msgid)
            digest.update(json.dumps([r.msgid, r.raw_sha256], ensure_ascii=True).encode("ascii") + b"\n")
        count += len(rows)
        if len(rows) < page:
            return MessageCheck(count, digest.hexdigest(), bad, bad_count)
        last = rows[-1].id


def table_counts(conn, tables: list[str]) -> dict[str, int]:
    q = '"' if conn.dialect.name == "sqlite" else "`"
    return {t: conn.execute(text(f"SELECT COUNT(*) FROM {q}{t}{q}")).scalar_one() for t in tables}


# Tables whose rows change by themselves after a restore (the restoring process registers its id
# node): compared as "at least", not exactly.
GROWING_TABLES = frozenset({"id_nodes"})
# Tables that are this workstation's bookkeeping, not the archive's: not compared.
VOLATILE_TABLES = frozenset({"jobs", "login_throttle", "server_instances"})


def stored_media(conn) -> list[tuple[str, str, str, int]]:
    """(backend, key, sha256, size) of every distinct stored media object the archive refers to."""
    rows = conn.execute(text(
        "SELECT storage_backend, storage_key, sha256, stored_size FROM media "
        "WHERE status = 'stored' AND storage_key IS NOT NULL AND sha256 IS NOT NULL "
        "GROUP BY storage_backend, storage_key, sha256, stored_size ORDER BY storage_key")).all()
    return [(r[0] or "local", r[1], r[2], int(r[3] or 0)) for r in rows]
