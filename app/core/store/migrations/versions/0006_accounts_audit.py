"""accounts_audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 20:30:00

Reviewer accounts, roles, scopes and the hash-chained audit trail (app/core/auth), issue 8.
"""

from __future__ import annotations

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the issue that owns this revision


def downgrade() -> None:
    pass
