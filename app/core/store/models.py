"""The archive's tables (SQLAlchemy 2). Migrations in ``migrations/`` create them; keep both in step.

Conventions: ids are snowflake BIGINTs (see ids.py); every time is an integer of milliseconds since
the Unix epoch, UTC (``*_at`` and ``msgtime``), so SQLite and MySQL agree exactly. Identifier
columns use a binary collation on MySQL: WeCom ids are case-sensitive base64, and a
case-insensitive unique index would merge two different msgids.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# MySQL's TEXT/BLOB stop at 64 KB; a chatrecord can be larger.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
LongBlob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

MYSQL_TABLE_ARGS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

# Media status values
PENDING, STORED, FAILED, EXPIRED = "pending", "stored", "failed", "expired"


class Base(DeclarativeBase):
    # Every model here is mapped to a Table (DeclarativeBase only promises a FromClause).
    __table__: ClassVar[Table]


class Corp(Base):
    __tablename__ = "corps"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corpid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)


class IdNode(Base):
    """One row per process that generates ids; its id (mod 1024) is the snowflake node."""

    __tablename__ = "id_nodes"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Message(Base):
    """One archive entry: the decrypted JSON exactly as received, and fields parsed from it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("corp_id", "msgid", name="uq_messages_corp_msgid"),
        Index("ix_messages_corp_seq", "corp_id", "seq"),
        Index("ix_messages_session_time", "corp_id", "session_id", "msgtime"),
        Index("ix_messages_sender_time", "corp_id", "sender", "msgtime"),
        Index("ix_messages_type_time", "corp_id", "msgtype", "msgtime"),
        Index("ix_messages_time", "corp_id", "msgtime"),
        Index("ix_messages_recalled_msgid", "corp_id", "recalled_msgid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    msgid: Mapped[str] = mapped_column(String(191))
    publickey_ver: Mapped[int] = mapped_column(Integer)
    raw_json: Mapped[bytes] = mapped_column(LongBlob)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(191))
    tolist: Mapped[str] = mapped_column(LongText)  # JSON array of ids
    roomid: Mapped[str] = mapped_column(String(191))
    msgtime: Mapped[int] = mapped_column(BigInteger)
    msgtype: Mapped[str] = mapped_column(String(64))
    content_text: Mapped[str] = mapped_column(LongText)  # the searchable text the parser defines
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    session_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    supported: Mapped[bool] = mapped_column(Boolean)
    has_media: Mapped[bool] = mapped_column(Boolean)
    recalled_msgid: Mapped[str | None] = mapped_column(String(191), nullable=True)  # on a recall entry
    recalled_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # on a recalled message
    recall_msgid: Mapped[str | None] = mapped_column(String(191), nullable=True)  # ... the recall entry
    sync_run_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ingested_at: Mapped[int] = mapped_column(BigInteger)


class Session(Base):
    """A conversation, kept current by the sync."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("corp_id", "session_id", name="uq_sessions_corp_session"),
        Index("ix_sessions_type_last", "corp_id", "session_type", "last_msgtime"),
        Index("ix_sessions_last", "corp_id", "last_msgtime"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    session_id: Mapped[str] = mapped_column(String(32))
    session_type: Mapped[str] = mapped_column(String(16))
    roomid: Mapped[str] = mapped_column(String(191))
    participants: Mapped[str] = mapped_column(LongText)  # JSON array, sorted
    first_msgtime: Mapped[int] = mapped_column(BigInteger)
    last_msgtime: Mapped[int] = mapped_column(BigInteger)
    message_count: Mapped[int] = mapped_column(BigInteger)


class Media(Base):
    """A media file referenced by a message (top level or inside chatrecord/mixed items)."""

    __tablename__ = "media"
    __table_args__ = (
        UniqueConstraint("message_id", "ref_path", name="uq_media_message_path"),
        Index("ix_media_status", "corp_id", "status"),
        Index("ix_media_sdkfileid", "corp_id", "sdkfileid_sha256"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    message_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("messages.id"))
    msgid: Mapped[str] = mapped_column(String(191))
    ref_path: Mapped[str] = mapped_column(String(191))  # where in the message: "image", "mixed.item[1]"
    kind: Mapped[str] = mapped_column(String(64))
    sdkfileid: Mapped[str] = mapped_column(LongText)
    sdkfileid_sha256: Mapped[str] = mapped_column(String(64))
    md5sum: Mapped[str] = mapped_column(String(64))
    declared_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    filename: Mapped[str | None] = mapped_column(LongText, nullable=True)  # as data, never a path
    ext: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(LongText, nullable=True)
    storage_backend: Mapped[str | None] = mapped_column(String(16), nullable=True)
    storage_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stored_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    md5_matched: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    stored_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Contact(Base):
    """An id's current display name (staff, external contact, group room, robot), where one is known.

    The Finance SDK gives ids only; names come from WeCom's server API (app/core/directory: a
    directory sync) or a names file imported by hand. ``contact_names`` keeps every name an id held."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("corp_id", "userid", name="uq_contacts_corp_userid"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    userid: Mapped[str] = mapped_column(String(191))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # staff / external / room / robot
    organisation: Mapped[str] = mapped_column(String(255), default="")  # department or external corp
    updated_at: Mapped[int] = mapped_column(BigInteger)
    # Migration 0009: what WeCom's API adds (None/"" where a names file or the API did not say).
    source: Mapped[str] = mapped_column(String(32), default="import", server_default="import")  # import / api
    ext_type: Mapped[int | None] = mapped_column(Integer, nullable=True)  # external: 1 WeChat, 2 WeCom
    corp_name: Mapped[str] = mapped_column(String(255), default="", server_default="")  # external: short (the tag)
    corp_full_name: Mapped[str] = mapped_column(String(255), default="", server_default="")  # external: full name
    position: Mapped[str] = mapped_column(String(255), default="", server_default="")
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff: 1 active, 2 disabled, 4 inactive, 5 left
    avatar_url: Mapped[str | None] = mapped_column(LongText, nullable=True)
    avatar_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # directory_avatars


class SyncCheckpoint(Base):
    __tablename__ = "sync_checkpoints"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"), primary_key=True,
                                         autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_corp_started", "corp_id", "started_at"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    started_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # running / succeeded / failed / cancelled
    workstation: Mapped[str] = mapped_column(String(255))
    start_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    media_stored: Mapped[int] = mapped_column(Integer, default=0)
    media_failed: Mapped[int] = mapped_column(Integer, default=0)
    media_expired: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(LongText, nullable=True)


class QuarantineEntry(Base):
    """An archive entry that could not be decrypted or parsed, kept so that a later run can retry."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("corp_id", "seq", name="uq_quarantine_corp_seq"),
        Index("ix_quarantine_open", "corp_id", "resolved_at"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    msgid: Mapped[str] = mapped_column(String(191))
    publickey_ver: Mapped[int] = mapped_column(Integer)
    encrypted_item: Mapped[str] = mapped_column(LongText)  # the GetChatData item as JSON
    stage: Mapped[str] = mapped_column(String(16))  # key / decrypt / parse
    error: Mapped[str] = mapped_column(LongText)
    plaintext: Mapped[bytes | None] = mapped_column(LongBlob, nullable=True)  # when decrypted but unparsable
    attempts: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[int] = mapped_column(BigInteger)
    last_tried_at: Mapped[int] = mapped_column(BigInteger)
    resolved_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sync_run_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Export(Base):
    """One evidence package made from this archive (app/core/export): who, when, what, and the
    fingerprints that let the app later say whether a package was made here and is unchanged."""

    __tablename__ = "exports"
    __table_args__ = (
        Index("ix_exports_fingerprint", "fingerprint"),
        Index("ix_exports_key_fingerprint", "key_fingerprint"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(191))
    workstation: Mapped[str] = mapped_column(String(255))
    selection: Mapped[str] = mapped_column(LongText)  # JSON: what was selected (sessions, query, msgids)
    out_path: Mapped[str] = mapped_column(LongText)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of tagmanifest-sha256.txt
    key_fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the raw Ed25519 public key
    counts: Mapped[str] = mapped_column(LongText)  # JSON


# ------------------------------------------------------------------ the delay queue (app/core/queue)
# Job states of the embedded queue ("ready" is a scheduled job whose execute_at has come)
JOB_SCHEDULED, JOB_RUNNING, JOB_DEAD = "scheduled", "running", "dead"


class QueueJob(Base):
    """A job of the embedded delay queue (app/core/queue/db_queue.py). ``seq`` (a snowflake) orders
    jobs due at the same millisecond in the order they were enqueued."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "state", "topic", "execute_at", "seq"),
        Index("ix_jobs_lease", "state", "lease_until"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(LongText)  # JSON
    state: Mapped[str] = mapped_column(String(16))
    execute_at: Mapped[int] = mapped_column(BigInteger)
    ttr_ms: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(LongText, nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


# ------------------------------------------------------------------ accounts and the audit trail (app/core/auth)
# Tables of migration 0006. The audit trail's rules (append-only, hash chain, one head row) are in
# app/core/auth/audit.py; accounts and login tokens in app/core/auth/accounts.py.


class Account(Base):
    """A reviewer account: shared by every workstation on one archive database."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("username", name="uq_accounts_username"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str] = mapped_column(String(64))  # canonical: NFKC, case-folded (auth/accounts.py)
    password_hash: Mapped[str] = mapped_column(String(255))  # "scrypt$n=..,r=..,p=..$salt$hash" (passwords.py)
    roles: Mapped[str] = mapped_column(String(255))  # JSON array of role names, sorted
    scope: Mapped[str] = mapped_column(LongText)  # JSON {"userids": [...], "departments": [...]}; both empty = all
    created_at: Mapped[int] = mapped_column(BigInteger)
    disabled: Mapped[bool] = mapped_column(Boolean)
    failed_attempts: Mapped[int] = mapped_column(Integer)  # consecutive wrong passwords since the last success
    locked_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_login_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    password_changed_at: Mapped[int] = mapped_column(BigInteger)
    must_change_password: Mapped[bool] = mapped_column(Boolean)


class LoginThrottle(Base):
    """Consecutive wrong passwords for a user name (as typed, canonical; an account's or not) on one
    workstation, and its lockout (app/core/auth/accounts.py)."""

    __tablename__ = "login_throttle"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    username: Mapped[str] = mapped_column(String(191), primary_key=True)
    workstation: Mapped[str] = mapped_column(String(191), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class LoginToken(Base):
    """A login token for CLI scripts; only the SHA-256 of the token is stored."""

    __tablename__ = "login_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_login_tokens_hash"),
        Index("ix_login_tokens_account", "account_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    workstation: Mapped[str] = mapped_column(String(255))  # where it was issued
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit trail. ``seq`` runs 1, 2, 3... without gaps;
    ``entry_hash`` covers every other column (see auth/audit.py, ``entry_hash``)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_account", "account", "seq"),
        Index("ix_audit_log_action", "action", "seq"),
        MYSQL_TABLE_ARGS,
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # no FK: the trail outlives rows
    account: Mapped[str] = mapped_column(String(191))  # user name (for a failed login: the name typed)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(LongText)
    outcome: Mapped[str] = mapped_column(String(16))  # ok / denied / failed
    workstation: Mapped[str] = mapped_column(String(255))
    login_id: Mapped[str] = mapped_column(String(64))  # groups the entries of one login or token
    detail: Mapped[str] = mapped_column(LongText)  # JSON object, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The one row (id 1) holding the trail's last seq and hash. Appenders lock it, so that concurrent
    writers (several workstations on one MySQL) never fork the chain."""

    __tablename__ = "audit_head"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


# ------------------------------------------------------------------ the directory (app/core/directory)
# Tables of migration 0009. ``contacts`` above holds each id's current name; these keep what WeCom's
# server API said over time: names with the period they held, departments, group rooms and their
# members, who is under archiving (the permit list) and customers' consent. Times are when the app
# saw a state (WeCom reports no history), except where WeCom gives one (join time, consent change).


class ContactName(Base):
    """A name an id held: from ``valid_from`` (first seen with it) until ``valid_to`` (first seen with
    another; None: still). Evidence shows the name at a message's time from here."""

    __tablename__ = "contact_names"
    __table_args__ = (Index("ix_contact_names_id", "corp_id", "userid", "valid_from"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    userid: Mapped[str] = mapped_column(String(191))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    organisation: Mapped[str] = mapped_column(String(255))
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source: Mapped[str] = mapped_column(String(32))  # "import" or the API it came from ("user/get")


class DirectoryDepartment(Base):
    __tablename__ = "directory_departments"
    __table_args__ = (UniqueConstraint("corp_id", "dept_id", name="uq_directory_departments"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    dept_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sort_order: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class DirectoryGroup(Base):
    """A group room as WeCom describes it (msgaudit/groupchat/get, or externalcontact/groupchat/get
    for a customer group); ``errcode`` is the last refusal when WeCom would not describe it."""

    __tablename__ = "directory_groups"
    __table_args__ = (UniqueConstraint("corp_id", "roomid", name="uq_directory_groups"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    roomid: Mapped[str] = mapped_column(String(191))
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(191))
    notice: Mapped[str | None] = mapped_column(LongText, nullable=True)
    created_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # internal / customer / unknown
    member_count: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DirectoryGroupMember(Base):
    """A member of a group room: WeCom's join time, and when the app saw them listed (and not any more)."""

    __tablename__ = "directory_group_members"
    __table_args__ = (UniqueConstraint("corp_id", "roomid", "userid", name="uq_directory_group_members"),
                      MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    roomid: Mapped[str] = mapped_column(String(191))
    userid: Mapped[str] = mapped_column(String(191))
    member_type: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1 staff, 2 external
    join_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    join_scene: Mapped[int | None] = mapped_column(Integer, nullable=True)
    invitor: Mapped[str] = mapped_column(String(191))
    first_seen_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger)
    left_seen_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # no longer listed


class ArchivePermit(Base):
    """One stretch of a staff member on the chat-archive permit list (msgaudit/get_permit_user_list):
    first seen on it, last seen on it, first seen off it (None: still on it)."""

    __tablename__ = "archive_permits"
    __table_args__ = (Index("ix_archive_permits_user", "corp_id", "userid", "added_seen_at"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    userid: Mapped[str] = mapped_column(String(191))
    added_seen_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger)
    removed_seen_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ConsentRecord(Base):
    """A customer's consent to archiving as WeCom reported it (msgaudit/check_single_agree for a
    staff member and an external contact, check_room_agree for a room: ``userid`` empty), one row per
    state WeCom reported, so that a change of mind keeps the earlier state."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_key", "corp_id", "external_userid", "roomid", "userid"),
                      MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    roomid: Mapped[str] = mapped_column(String(191))  # "" for a one-to-one chat
    userid: Mapped[str] = mapped_column(String(191))  # the staff member; "" for a room
    external_userid: Mapped[str] = mapped_column(String(191))
    status: Mapped[str] = mapped_column(String(32))  # agree / disagree / default_agree / other text as given
    changed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # WeCom's status_change_time
    first_seen_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger)


class DirectoryAvatar(Base):
    """An avatar image as the app keeps it: a small PNG made from what WeCom's image server sent."""

    __tablename__ = "directory_avatars"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # of ``data``
    data: Mapped[bytes] = mapped_column(LongBlob)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class DirectoryRun(Base):
    """One directory sync (or import): who, when, the outcome, counts, and every API's errcodes."""

    __tablename__ = "directory_runs"
    __table_args__ = (Index("ix_directory_runs_corp_started", "corp_id", "started_at"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("corps.id"))
    started_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # running / succeeded / partial / failed / cancelled
    source: Mapped[str] = mapped_column(String(16))  # api / import
    actor: Mapped[str] = mapped_column(String(191))
    workstation: Mapped[str] = mapped_column(String(255))
    counts: Mapped[str] = mapped_column(LongText)  # JSON object
    calls: Mapped[str] = mapped_column(LongText)  # JSON: {api: {"calls": n, "errcodes": {code: n}}}
    problems: Mapped[str] = mapped_column(LongText)  # JSON list of {api, errcode, count, en, zh, ids}
    error: Mapped[str | None] = mapped_column(LongText, nullable=True)
