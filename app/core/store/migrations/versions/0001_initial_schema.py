"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 17:20:28.580916
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('corps',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corpid', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corpid'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('id_nodes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('messages',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('msgid', sa.String(length=191), nullable=False),
    sa.Column('publickey_ver', sa.Integer(), nullable=False),
    sa.Column('raw_json', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('sender', sa.String(length=191), nullable=False),
    sa.Column('tolist', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('roomid', sa.String(length=191), nullable=False),
    sa.Column('msgtime', sa.BigInteger(), nullable=False),
    sa.Column('msgtype', sa.String(length=64), nullable=False),
    sa.Column('content_text', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=True),
    sa.Column('session_type', sa.String(length=16), nullable=True),
    sa.Column('supported', sa.Boolean(), nullable=False),
    sa.Column('has_media', sa.Boolean(), nullable=False),
    sa.Column('recalled_msgid', sa.String(length=191), nullable=True),
    sa.Column('recalled_at', sa.BigInteger(), nullable=True),
    sa.Column('recall_msgid', sa.String(length=191), nullable=True),
    sa.Column('sync_run_id', sa.BigInteger(), nullable=True),
    sa.Column('ingested_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'msgid', name='uq_messages_corp_msgid'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_corp_seq', ['corp_id', 'seq'], unique=False)
        batch_op.create_index('ix_messages_recalled_msgid', ['corp_id', 'recalled_msgid'], unique=False)
        batch_op.create_index('ix_messages_sender_time', ['corp_id', 'sender', 'msgtime'], unique=False)
        batch_op.create_index('ix_messages_session_time', ['corp_id', 'session_id', 'msgtime'], unique=False)
        batch_op.create_index('ix_messages_time', ['corp_id', 'msgtime'], unique=False)
        batch_op.create_index('ix_messages_type_time', ['corp_id', 'msgtype', 'msgtime'], unique=False)

    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('msgid', sa.String(length=191), nullable=False),
    sa.Column('publickey_ver', sa.Integer(), nullable=False),
    sa.Column('encrypted_item', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('plaintext', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('last_tried_at', sa.BigInteger(), nullable=False),
    sa.Column('resolved_at', sa.BigInteger(), nullable=True),
    sa.Column('sync_run_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'seq', name='uq_quarantine_corp_seq'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index('ix_quarantine_open', ['corp_id', 'resolved_at'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('session_type', sa.String(length=16), nullable=False),
    sa.Column('roomid', sa.String(length=191), nullable=False),
    sa.Column('participants', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('first_msgtime', sa.BigInteger(), nullable=False),
    sa.Column('last_msgtime', sa.BigInteger(), nullable=False),
    sa.Column('message_count', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'session_id', name='uq_sessions_corp_session'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_last', ['corp_id', 'last_msgtime'], unique=False)
        batch_op.create_index('ix_sessions_type_last', ['corp_id', 'session_type', 'last_msgtime'], unique=False)

    op.create_table('sync_checkpoints',
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('corp_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('workstation', sa.String(length=255), nullable=False),
    sa.Column('start_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('media_stored', sa.Integer(), nullable=False),
    sa.Column('media_failed', sa.Integer(), nullable=False),
    sa.Column('media_expired', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sync_runs_corp_started', ['corp_id', 'started_at'], unique=False)

    op.create_table('media',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('msgid', sa.String(length=191), nullable=False),
    sa.Column('ref_path', sa.String(length=191), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('sdkfileid', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('sdkfileid_sha256', sa.String(length=64), nullable=False),
    sa.Column('md5sum', sa.String(length=64), nullable=False),
    sa.Column('declared_size', sa.BigInteger(), nullable=True),
    sa.Column('filename', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('ext', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('storage_backend', sa.String(length=16), nullable=True),
    sa.Column('storage_key', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('stored_size', sa.BigInteger(), nullable=True),
    sa.Column('md5_matched', sa.Boolean(), nullable=True),
    sa.Column('stored_at', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'ref_path', name='uq_media_message_path'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index('ix_media_sdkfileid', ['corp_id', 'sdkfileid_sha256'], unique=False)
        batch_op.create_index('ix_media_status', ['corp_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index('ix_media_status')
        batch_op.drop_index('ix_media_sdkfileid')

    op.drop_table('media')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_runs_corp_started')

    op.drop_table('sync_runs')
    op.drop_table('sync_checkpoints')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_type_last')
        batch_op.drop_index('ix_sessions_last')

    op.drop_table('sessions')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantine_open')

    op.drop_table('quarantine')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_type_time')
        batch_op.drop_index('ix_messages_time')
        batch_op.drop_index('ix_messages_session_time')
        batch_op.drop_index('ix_messages_sender_time')
        batch_op.drop_index('ix_messages_recalled_msgid')
        batch_op.drop_index('ix_messages_corp_seq')

    op.drop_table('messages')
    op.drop_table('id_nodes')
    op.drop_table('corps')
