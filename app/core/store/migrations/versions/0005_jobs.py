"""jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:30:00

The embedded delay queue's jobs (app/core/queue), issue 7.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
_LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.String(length=191), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('payload', _LongText, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('execute_at', sa.BigInteger(), nullable=False),
    sa.Column('ttr_ms', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', _LongText, nullable=True),
    sa.Column('lease_until', sa.BigInteger(), nullable=True),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_jobs_due', 'jobs', ['state', 'topic', 'execute_at', 'seq'], unique=False)
    op.create_index('ix_jobs_lease', 'jobs', ['state', 'lease_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_jobs_lease', table_name='jobs')
    op.drop_index('ix_jobs_due', table_name='jobs')
    op.drop_table('jobs')
