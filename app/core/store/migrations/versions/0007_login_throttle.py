"""login_throttle

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00

Failed logins counted per (user name as typed, workstation) — for names of no account too, so that
the lockout does not tell whether an account exists and locks a name out on one workstation only,
for a bounded time (app/core/auth/accounts.py). The accounts table's failed_attempts/locked_until
become a summary shown to administrators; locks from before this revision are lifted.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('username', sa.String(length=191), nullable=False),
    sa.Column('workstation', sa.String(length=191), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('username', 'workstation'),
    **_MYSQL
    )
    op.execute("UPDATE accounts SET failed_attempts = 0, locked_until = NULL")


def downgrade() -> None:
    op.drop_table('login_throttle')
