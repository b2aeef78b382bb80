"""review workflow: tags, review status and marks, notes with versions, saved searches, policies,
alerts, sampling

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14 09:00:00

The review workflow (app/core/review): the archive's tag set (five defaults in Chinese and English)
and what is tagged (messages or whole sessions); explicit review statuses and each reviewer's
"reviewed up to here" marks; notes and their versions (a later edit is a new version, never an
overwrite); saved searches and when each reviewer last ran them; policies (a saved query and a
schedule) with their marks in the search journal, the alerts they raise (one per session, policy
and day) and the messages behind each alert; sampling rules, draws (seed and candidates, so that
an auditor can reproduce them) and the sessions drawn.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_Text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

# The default tag set (an administrator edits it): key, Chinese, English, colour, position.
DEFAULT_TAGS = (
    ("attention", "需关注", "Needs attention", "#E6A23C", 1),
    ("violation", "违规", "Violation", "#D93025", 2),
    ("no_issue", "无问题", "No issue", "#1E8E3E", 3),
    ("privileged", "特权", "Privileged", "#8E44AD", 4),
    ("escalated", "已上报", "Escalated", "#1A73E8", 5),
)


def upgrade() -> None:
    op.create_table('review_alert_hits',
    sa.Column('policy_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('msgtime', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('policy_id', 'message_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_review_alert_hits_alert', 'review_alert_hits', ['alert_id'], unique=False)
    op.create_index('ix_review_alert_hits_message', 'review_alert_hits', ['message_id'], unique=False)
    op.create_table('review_alerts',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('new_hits', sa.Integer(), nullable=False),
    sa.Column('first_msgtime', sa.BigInteger(), nullable=False),
    sa.Column('last_msgtime', sa.BigInteger(), nullable=False),
    sa.Column('assignee_key', sa.String(length=64), nullable=True),
    sa.Column('assignee', sa.String(length=191), nullable=True),
    sa.Column('reason', _Text, nullable=True),
    sa.Column('triaged_by', sa.String(length=191), nullable=True),
    sa.Column('triaged_at', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('policy_id', 'corp_id', 'session_id', 'day', name='uq_review_alerts_day'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_review_alerts_session', 'review_alerts', ['corp_id', 'session_id'], unique=False)
    op.create_index('ix_review_alerts_status', 'review_alerts', ['status', 'updated_at'], unique=False)
    op.create_table('review_marks',
    sa.Column('reviewer_key', sa.String(length=64), nullable=False),
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('upto_msgtime', sa.BigInteger(), nullable=False),
    sa.Column('upto_id', sa.BigInteger(), nullable=False),
    sa.Column('reviewer', sa.String(length=191), nullable=False),
    sa.Column('marked_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('reviewer_key', 'corp_id', 'session_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_review_marks_session', 'review_marks', ['corp_id', 'session_id'], unique=False)
    op.create_table('review_note_versions',
    sa.Column('note_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('text', _Text, nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('note_id', 'version'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('review_notes',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('author_key', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('withdrawn_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_review_notes_message', 'review_notes', ['message_id'], unique=False)
    op.create_index('ix_review_notes_session', 'review_notes', ['corp_id', 'session_id'], unique=False)
    op.create_table('review_policies',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=191), nullable=False),
    sa.Column('query', _Text, nullable=False),
    sa.Column('schedule', sa.String(length=16), nullable=False),
    sa.Column('description', _Text, nullable=False),
    sa.Column('assignee_key', sa.String(length=64), nullable=True),
    sa.Column('assignee', sa.String(length=191), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=191), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('last_run_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('review_policy_marks',
    sa.Column('policy_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('last_no', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('policy_id', 'corp_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('review_states',
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('set_by_key', sa.String(length=64), nullable=False),
    sa.Column('set_by', sa.String(length=191), nullable=False),
    sa.Column('set_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('corp_id', 'session_id', 'message_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_review_states_message', 'review_states', ['message_id'], unique=False)
    op.create_table('review_tag_links',
    sa.Column('tag_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('tag_id', 'corp_id', 'session_id', 'message_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_review_tag_links_message', 'review_tag_links', ['message_id'], unique=False)
    op.create_index('ix_review_tag_links_session', 'review_tag_links', ['corp_id', 'session_id'], unique=False)
    op.create_table('review_tags',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('label_zh', sa.String(length=64), nullable=False),
    sa.Column('label_en', sa.String(length=64), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=191), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=True),
    sa.Column('disabled_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_review_tags_key'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('sample_draws',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('rule_id', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.BigInteger(), nullable=False),
    sa.Column('period_end', sa.BigInteger(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('rule', _Text, nullable=False),
    sa.Column('candidates', _Text, nullable=False),
    sa.Column('candidates_sha256', sa.String(length=64), nullable=False),
    sa.Column('excluded', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('drawn_by_key', sa.String(length=64), nullable=False),
    sa.Column('drawn_by', sa.String(length=191), nullable=False),
    sa.Column('drawn_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule_id', 'period_start', name='uq_sample_draws_period'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('sample_items',
    sa.Column('draw_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('draw_id', 'corp_id', 'session_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('sampling_rules',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=191), nullable=False),
    sa.Column('userids', _Text, nullable=False),
    sa.Column('departments', _Text, nullable=False),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('sessions', sa.Integer(), nullable=True),
    sa.Column('corp_id', sa.BigInteger(), nullable=True),
    sa.Column('created_by', sa.String(length=191), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('disabled_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('saved_search_runs',
    sa.Column('search_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('runner_key', sa.String(length=64), nullable=False),
    sa.Column('run_at', sa.BigInteger(), nullable=False),
    sa.Column('heads', _Text, nullable=False),
    sa.Column('hits', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('search_id', 'runner_key'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_table('saved_searches',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner_key', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=191), nullable=False),
    sa.Column('name', sa.String(length=191), nullable=False),
    sa.Column('query', _Text, nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('deleted_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_saved_searches_owner', 'saved_searches', ['owner_key'], unique=False)
    tags = sa.table('review_tags', sa.column('id', sa.BigInteger), sa.column('key', sa.String),
                    sa.column('label_zh', sa.String), sa.column('label_en', sa.String),
                    sa.column('colour', sa.String), sa.column('position', sa.Integer),
                    sa.column('created_by', sa.String), sa.column('created_at', sa.BigInteger))
    op.bulk_insert(tags, [{"id": position, "key": key, "label_zh": zh, "label_en": en, "colour": colour,
                           "position": position, "created_by": "system", "created_at": 0}
                          for key, zh, en, colour, position in DEFAULT_TAGS])


def downgrade() -> None:
    op.drop_index('ix_saved_searches_owner', table_name='saved_searches')
    op.drop_table('saved_searches')
    op.drop_table('saved_search_runs')
    op.drop_table('sampling_rules')
    op.drop_table('sample_items')
    op.drop_table('sample_draws')
    op.drop_table('review_tags')
    op.drop_index('ix_review_tag_links_session', table_name='review_tag_links')
    op.drop_index('ix_review_tag_links_message', table_name='review_tag_links')
    op.drop_table('review_tag_links')
    op.drop_index('ix_review_states_message', table_name='review_states')
    op.drop_table('review_states')
    op.drop_table('review_policy_marks')
    op.drop_table('review_policies')
    op.drop_index('ix_review_notes_session', table_name='review_notes')
    op.drop_index('ix_review_notes_message', table_name='review_notes')
    op.drop_table('review_notes')
    op.drop_table('review_note_versions')
    op.drop_index('ix_review_marks_session', table_name='review_marks')
    op.drop_table('review_marks')
    op.drop_index('ix_review_alerts_status', table_name='review_alerts')
    op.drop_index('ix_review_alerts_session', table_name='review_alerts')
    op.drop_table('review_alerts')
    op.drop_index('ix_review_alert_hits_message', table_name='review_alert_hits')
    op.drop_index('ix_review_alert_hits_alert', table_name='review_alert_hits')
    op.drop_table('review_alert_hits')
