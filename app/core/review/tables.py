"""The review tables (migration 0010), as SQLAlchemy Core tables of their own metadata (like the
retention tables): the tag set and what is tagged, explicit review statuses, each reviewer's
"reviewed up to here" marks, notes and their versions, saved searches, policies with their journal
marks, alerts and the messages that raised them, sampling rules, draws and their sessions.

Conventions (as in app/core/store/models.py): ids are snowflakes, times ms since the epoch (UTC),
identifier columns binary-collated on MySQL. ``message_id`` 0 means "the whole session" in the
tables where a row may concern a session or one of its messages, so that primary keys stay plain.
A reviewer is keyed by ``reviewer_key`` (``#<account id>``, or the user name of an actor without an
account): a renamed account keeps its marks; ``*_by`` columns keep the name shown at the time.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

metadata = MetaData()
_Text = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

SESSION = 0  # message_id of a row about the whole session

tags = Table(
    "review_tags", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("key", String(64), nullable=False),  # stable, ASCII: "violation"
    Column("label_zh", String(64), nullable=False),
    Column("label_en", String(64), nullable=False),
    Column("colour", String(7), nullable=False),  # "#RRGGBB"
    Column("position", Integer, nullable=False),  # order; 1-9 are the viewer's keys
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_by", String(191), nullable=True),
    Column("updated_at", BigInteger, nullable=True),
    Column("disabled_at", BigInteger, nullable=True),
    UniqueConstraint("key", name="uq_review_tags_key"),
    **_MYSQL,
)
tag_links = Table(
    "review_tag_links", metadata,
    Column("tag_id", BigInteger, nullable=False, autoincrement=False),
    Column("corp_id", BigInteger, nullable=False, autoincrement=False),
    Column("session_id", String(32), nullable=False),
    Column("message_id", BigInteger, nullable=False, autoincrement=False),  # SESSION: the whole session
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("tag_id", "corp_id", "session_id", "message_id"),
    Index("ix_review_tag_links_message", "message_id"),
    Index("ix_review_tag_links_session", "corp_id", "session_id"),
    **_MYSQL,
)
states = Table(
    "review_states", metadata,
    Column("corp_id", BigInteger, nullable=False, autoincrement=False),
    Column("session_id", String(32), nullable=False),
    Column("message_id", BigInteger, nullable=False, autoincrement=False),  # SESSION: the session's own status
    Column("status", String(16), nullable=False),  # unreviewed / in_review / reviewed
    Column("set_by_key", String(64), nullable=False),
    Column("set_by", String(191), nullable=False),
    Column("set_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("corp_id", "session_id", "message_id"),
    Index("ix_review_states_message", "message_id"),
    **_MYSQL,
)
marks = Table(
    "review_marks", metadata,
    Column("reviewer_key", String(64), nullable=False),
    Column("corp_id", BigInteger, nullable=False, autoincrement=False),
    Column("session_id", String(32), nullable=False),
    Column("upto_msgtime", BigInteger, nullable=False),  # reviewed up to and including (msgtime, id)
    Column("upto_id", BigInteger, nullable=False),
    Column("reviewer", String(191), nullable=False),
    Column("marked_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("reviewer_key", "corp_id", "session_id"),
    Index("ix_review_marks_session", "corp_id", "session_id"),
    **_MYSQL,
)
notes = Table(
    "review_notes", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("corp_id", BigInteger, nullable=False),
    Column("session_id", String(32), nullable=False),
    Column("message_id", BigInteger, nullable=False),  # SESSION: a note on the session
    Column("author_key", String(64), nullable=False),
    Column("author", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),  # the current version
    Column("withdrawn_at", BigInteger, nullable=True),
    Index("ix_review_notes_session", "corp_id", "session_id"),
    Index("ix_review_notes_message", "message_id"),
    **_MYSQL,
)
note_versions = Table(
    "review_note_versions", metadata,
    Column("note_id", BigInteger, nullable=False, autoincrement=False),
    Column("version", Integer, nullable=False, autoincrement=False),
    Column("text", _Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),  # of the text, as the audit entry records it
    PrimaryKeyConstraint("note_id", "version"),
    **_MYSQL,
)
saved_searches = Table(
    "saved_searches", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_key", String(64), nullable=False),
    Column("owner", String(191), nullable=False),
    Column("name", String(191), nullable=False),
    Column("query", _Text, nullable=False),  # the search language
    Column("shared", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger, nullable=True),
    Index("ix_saved_searches_owner", "owner_key"),
    **_MYSQL,
)
search_runs = Table(
    "saved_search_runs", metadata,
    Column("search_id", BigInteger, nullable=False, autoincrement=False),
    Column("runner_key", String(64), nullable=False),
    Column("run_at", BigInteger, nullable=False),
    Column("heads", _Text, nullable=False),  # JSON {corp_id: journal number} when it was run
    Column("hits", BigInteger, nullable=False),
    PrimaryKeyConstraint("search_id", "runner_key"),
    **_MYSQL,
)
policies = Table(
    "review_policies", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(191), nullable=False),
    Column("query", _Text, nullable=False),
    Column("schedule", String(16), nullable=False),  # sync / daily
    Column("description", _Text, nullable=False),
    Column("assignee_key", String(64), nullable=True),  # who new alerts go to
    Column("assignee", String(191), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_by", String(191), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_run_at", BigInteger, nullable=True),
    **_MYSQL,
)
policy_marks = Table(
    "review_policy_marks", metadata,
    Column("policy_id", BigInteger, nullable=False, autoincrement=False),
    Column("corp_id", BigInteger, nullable=False, autoincrement=False),
    Column("last_no", BigInteger, nullable=False),  # the search journal's number evaluated up to
    PrimaryKeyConstraint("policy_id", "corp_id"),
    **_MYSQL,
)
alerts = Table(
    "review_alerts", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("policy_id", BigInteger, nullable=False),
    Column("corp_id", BigInteger, nullable=False),
    Column("session_id", String(32), nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD of the messages, in the archive's review zone
    Column("status", String(16), nullable=False),  # open / dismissed / escalated
    Column("hits", Integer, nullable=False),
    Column("new_hits", Integer, nullable=False),  # since the last triage
    Column("first_msgtime", BigInteger, nullable=False),
    Column("last_msgtime", BigInteger, nullable=False),
    Column("assignee_key", String(64), nullable=True),
    Column("assignee", String(191), nullable=True),
    Column("reason", _Text, nullable=True),  # of the last dismissal or escalation
    Column("triaged_by", String(191), nullable=True),
    Column("triaged_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("policy_id", "corp_id", "session_id", "day", name="uq_review_alerts_day"),
    Index("ix_review_alerts_status", "status", "updated_at"),
    Index("ix_review_alerts_session", "corp_id", "session_id"),
    **_MYSQL,
)
alert_hits = Table(
    "review_alert_hits", metadata,
    Column("policy_id", BigInteger, nullable=False, autoincrement=False),
    Column("message_id", BigInteger, nullable=False, autoincrement=False),
    Column("alert_id", BigInteger, nullable=False),
    Column("corp_id", BigInteger, nullable=False),
    Column("msgtime", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    PrimaryKeyConstraint("policy_id", "message_id"),
    Index("ix_review_alert_hits_alert", "alert_id"),
    Index("ix_review_alert_hits_message", "message_id"),
    **_MYSQL,
)
sampling_rules = Table(
    "sampling_rules", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(191), nullable=False),
    Column("userids", _Text, nullable=False),  # JSON array: staff
    Column("departments", _Text, nullable=False),  # JSON array: contacts.organisation of staff
    Column("percent", Integer, nullable=True),  # of the group's conversations of the week (1-100) ...
    Column("sessions", Integer, nullable=True),  # ... or this many of them
    Column("corp_id", BigInteger, nullable=True),
    Column("created_by", String(191), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
    **_MYSQL,
)
sample_draws = Table(
    "sample_draws", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("rule_id", BigInteger, nullable=False),
    Column("period_start", BigInteger, nullable=False),  # the week [start, end)
    Column("period_end", BigInteger, nullable=False),
    Column("seed", String(64), nullable=False),  # hex: with the candidates, reproduces the draw
    Column("rule", _Text, nullable=False),  # JSON: the rule as it was
    Column("candidates", _Text, nullable=False),  # JSON [[corp_id, session_id], ...] in draw order
    Column("candidates_sha256", String(64), nullable=False),
    Column("excluded", Integer, nullable=False),  # conversations left out for having alerts
    Column("size", Integer, nullable=False),
    Column("drawn_by_key", String(64), nullable=False),
    Column("drawn_by", String(191), nullable=False),
    Column("drawn_at", BigInteger, nullable=False),
    UniqueConstraint("rule_id", "period_start", name="uq_sample_draws_period"),
    **_MYSQL,
)
sample_items = Table(
    "sample_items", metadata,
    Column("draw_id", BigInteger, nullable=False, autoincrement=False),
    Column("corp_id", BigInteger, nullable=False, autoincrement=False),
    Column("session_id", String(32), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("draw_id", "corp_id", "session_id"),
    **_MYSQL,
)
