"""jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:30:00

The embedded delay queue's jobs (app/core/queue), issue 7.
"""

from __future__ import annotations

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the issue that owns this revision


def downgrade() -> None:
    pass
