"""The retention tables (migration 0008), as SQLAlchemy Core tables of their own metadata (like the
search journal's): policies, legal holds, deletion runs, the proof of each deleted message, media
objects to remove from storage, and the server instances' heartbeats."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql

metadata = MetaData()
_Text = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

policies = Table(
    "retention_policies", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("corp_id", BigInteger, nullable=True),  # None: every corp
    Column("name", String(191), nullable=False),
    Column("message_class", String(16), nullable=False),  # all / internal / external / group
    Column("keep_days", Integer, nullable=False),
    Column("basis", String(16), nullable=False),  # message / last_activity
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_by", String(191), nullable=True),
    Column("disabled_at", BigInteger, nullable=True),
    **_MYSQL,
)
holds = Table(
    "legal_holds", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(191), nullable=False),
    Column("reason", _Text, nullable=False),
    Column("corp_id", BigInteger, nullable=True),
    Column("userids", _Text, nullable=False),  # JSON array: custodians
    Column("session_ids", _Text, nullable=False),  # JSON array
    Column("query", _Text, nullable=True),  # the search query language
    Column("start_ms", BigInteger, nullable=True),
    Column("end_ms", BigInteger, nullable=True),  # exclusive
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("released_by", String(191), nullable=True),
    Column("released_at", BigInteger, nullable=True),
    Column("release_reason", _Text, nullable=True),
    **_MYSQL,
)
runs = Table(
    "retention_runs", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("as_of", BigInteger, nullable=False),  # the time "due" was computed for
    Column("status", String(16), nullable=False),  # proposed / approved / done / cancelled
    Column("policies", _Text, nullable=False),  # JSON: the policies as they were when proposed
    Column("due_count", BigInteger, nullable=False),
    Column("held_count", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 over the due messages' "msgid raw_sha256" lines
    Column("approved_by", String(191), nullable=True),
    Column("approved_at", BigInteger, nullable=True),
    Column("deleted_count", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    **_MYSQL,
)
deleted_messages = Table(
    "deleted_messages", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("run_id", BigInteger, nullable=False),
    Column("corp_id", BigInteger, nullable=False),
    Column("msgid", String(191), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("session_id", String(32), nullable=True),
    Column("msgtime", BigInteger, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("policy_id", BigInteger, nullable=False),
    Column("deleted_at", BigInteger, nullable=False),
    **_MYSQL,
)
deleted_media = Table(
    "deleted_media_objects", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("run_id", BigInteger, nullable=False),
    Column("storage_backend", String(16), nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("removed_at", BigInteger, nullable=True),
    **_MYSQL,
)
server_instances = Table(
    "server_instances", metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("address", String(255), nullable=False),
    Column("version", String(64), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("stopped_at", BigInteger, nullable=True),
    **_MYSQL,
)
