"""contacts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:40:03.990998
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contacts',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('userid', sa.String(length=191), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'userid', name='uq_contacts_corp_userid'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )


def downgrade() -> None:
    op.drop_table('contacts')
