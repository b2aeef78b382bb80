"""exports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:10:00

Every evidence package made from the archive (app/core/export): who, when, what, where, and the
package and signing-key fingerprints.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
_LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    op.create_table('exports',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=191), nullable=False),
    sa.Column('workstation', sa.String(length=255), nullable=False),
    sa.Column('selection', _LongText, nullable=False),
    sa.Column('out_path', _LongText, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('counts', _LongText, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_exports_fingerprint', 'exports', ['fingerprint'], unique=False)
    op.create_index('ix_exports_key_fingerprint', 'exports', ['key_fingerprint'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_exports_key_fingerprint', table_name='exports')
    op.drop_index('ix_exports_fingerprint', table_name='exports')
    op.drop_table('exports')
