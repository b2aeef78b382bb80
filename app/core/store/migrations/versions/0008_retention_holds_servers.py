"""retention policies, legal holds, deletion runs with their proof, server instances

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 09:00:00

Retention (app/core/retention): policies per corp and message class; legal holds by custodian,
session, query and date range; deletion runs (proposed → approved → done) and, per deleted message,
the proof that it existed (msgid, seq, time, SHA-256 of its JSON) without its content; media objects
whose removal from storage is pending or done. Server instances (app/server): one row per running
`wecom-auditor serve`, with its heartbeat, for health checks and the window.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
_Text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table('retention_policies',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.String(length=191), nullable=False),
    sa.Column('message_class', sa.String(length=16), nullable=False),
    sa.Column('keep_days', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('disabled_by', sa.String(length=191), nullable=True),
    sa.Column('disabled_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_table('legal_holds',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=191), nullable=False),
    sa.Column('reason', _Text, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=True),
    sa.Column('userids', _Text, nullable=False),
    sa.Column('session_ids', _Text, nullable=False),
    sa.Column('query', _Text, nullable=True),
    sa.Column('start_ms', sa.BigInteger(), nullable=True),
    sa.Column('end_ms', sa.BigInteger(), nullable=True),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('released_by', sa.String(length=191), nullable=True),
    sa.Column('released_at', sa.BigInteger(), nullable=True),
    sa.Column('release_reason', _Text, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_table('retention_runs',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('as_of', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('policies', _Text, nullable=False),
    sa.Column('due_count', sa.BigInteger(), nullable=False),
    sa.Column('held_count', sa.BigInteger(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('approved_by', sa.String(length=191), nullable=True),
    sa.Column('approved_at', sa.BigInteger(), nullable=True),
    sa.Column('deleted_count', sa.BigInteger(), nullable=False),
    sa.Column('finished_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_table('deleted_messages',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('msgid', sa.String(length=191), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=True),
    sa.Column('msgtime', sa.BigInteger(), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('deleted_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_deleted_messages_msgid', 'deleted_messages', ['corp_id', 'msgid'])
    op.create_index('ix_deleted_messages_run', 'deleted_messages', ['run_id', 'id'])
    op.create_table('deleted_media_objects',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('storage_backend', sa.String(length=16), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('removed_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_deleted_media_pending', 'deleted_media_objects', ['removed_at'])
    op.create_table('server_instances',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('stopped_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )


def downgrade() -> None:
    op.drop_table('server_instances')
    op.drop_index('ix_deleted_media_pending', table_name='deleted_media_objects')
    op.drop_table('deleted_media_objects')
    op.drop_index('ix_deleted_messages_run', table_name='deleted_messages')
    op.drop_index('ix_deleted_messages_msgid', table_name='deleted_messages')
    op.drop_table('deleted_messages')
    op.drop_table('retention_runs')
    op.drop_table('legal_holds')
    op.drop_table('retention_policies')
