"""search journal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00

The per-corp journal of messages added or changed, in commit order, that search indexes catch up
from (app/core/search/journal.py). Messages stored before it are covered by an index's full build.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mariadb").with_variant(mysql.LONGBLOB(), "mysql")


def upgrade() -> None:
    op.create_table('search_journal_heads',
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('last_no', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('corp_id'),
    **_MYSQL
    )
    op.create_table('search_journal',
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('no', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('new_ids', _Blob, nullable=False),
    sa.Column('changed_ids', _Blob, nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('corp_id', 'no'),
    **_MYSQL
    )


def downgrade() -> None:
    op.drop_table('search_journal')
    op.drop_table('search_journal_heads')
