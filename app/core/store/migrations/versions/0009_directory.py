"""directory

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00

Names, departments, groups, the permit list and customers' consent from WeCom's server API
(app/core/directory), with history: ``contact_names`` (every name an id held and when),
``archive_permits`` (stretches on the chat-archive permit list), ``consent_records`` (each consent
state WeCom reported), ``directory_groups`` and their members, ``directory_departments``,
``directory_avatars`` and ``directory_runs`` (each sync's counts and the errcodes of its calls).
``contacts`` gains what the API adds (with defaults, so that a plain insert of the earlier columns
still works). The names contacts holds now become their first history rows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
_LONGTEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_LONGBLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('source', sa.String(length=32), nullable=False, server_default='import'))
        batch.add_column(sa.Column('ext_type', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('corp_name', sa.String(length=255), nullable=False, server_default=''))
        batch.add_column(sa.Column('corp_full_name', sa.String(length=255), nullable=False, server_default=''))
        batch.add_column(sa.Column('position', sa.String(length=255), nullable=False, server_default=''))
        batch.add_column(sa.Column('status', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('avatar_url', _LONGTEXT, nullable=True))
        batch.add_column(sa.Column('avatar_sha256', sa.String(length=64), nullable=True))
    op.create_table('contact_names',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('userid', sa.String(length=191), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=False),
    sa.Column('valid_from', sa.BigInteger(), nullable=False),
    sa.Column('valid_to', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_contact_names_id', 'contact_names', ['corp_id', 'userid', 'valid_from'])
    # The names known now were held at least since they were imported.
    op.execute("INSERT INTO contact_names (id, corp_id, userid, kind, name, organisation, valid_from, valid_to, "
               "source) SELECT id, corp_id, userid, kind, name, organisation, updated_at, NULL, 'import' "
               "FROM contacts")

    op.create_table('directory_departments',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('dept_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('sort_order', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'dept_id', name='uq_directory_departments'),
    **_MYSQL
    )
    op.create_table('directory_groups',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('roomid', sa.String(length=191), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('owner', sa.String(length=191), nullable=False),
    sa.Column('notice', _LONGTEXT, nullable=True),
    sa.Column('created_time', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('fetched_at', sa.BigInteger(), nullable=True),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'roomid', name='uq_directory_groups'),
    **_MYSQL
    )
    op.create_table('directory_group_members',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('roomid', sa.String(length=191), nullable=False),
    sa.Column('userid', sa.String(length=191), nullable=False),
    sa.Column('member_type', sa.Integer(), nullable=True),
    sa.Column('join_time', sa.BigInteger(), nullable=True),
    sa.Column('join_scene', sa.Integer(), nullable=True),
    sa.Column('invitor', sa.String(length=191), nullable=False),
    sa.Column('first_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('left_seen_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('corp_id', 'roomid', 'userid', name='uq_directory_group_members'),
    **_MYSQL
    )
    op.create_table('archive_permits',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('userid', sa.String(length=191), nullable=False),
    sa.Column('added_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('removed_seen_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_archive_permits_user', 'archive_permits', ['corp_id', 'userid', 'added_seen_at'])
    op.create_table('consent_records',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('roomid', sa.String(length=191), nullable=False),
    sa.Column('userid', sa.String(length=191), nullable=False),
    sa.Column('external_userid', sa.String(length=191), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.BigInteger(), nullable=True),
    sa.Column('first_seen_at', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_consent_records_key', 'consent_records', ['corp_id', 'external_userid', 'roomid', 'userid'])
    op.create_table('directory_avatars',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', _LONGBLOB, nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('sha256'),
    **_MYSQL
    )
    op.create_table('directory_runs',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=191), nullable=False),
    sa.Column('workstation', sa.String(length=255), nullable=False),
    sa.Column('counts', _LONGTEXT, nullable=False),
    sa.Column('calls', _LONGTEXT, nullable=False),
    sa.Column('problems', _LONGTEXT, nullable=False),
    sa.Column('error', _LONGTEXT, nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    **_MYSQL
    )
    op.create_index('ix_directory_runs_corp_started', 'directory_runs', ['corp_id', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_directory_runs_corp_started', table_name='directory_runs')
    op.drop_table('directory_runs')
    op.drop_table('directory_avatars')
    op.drop_index('ix_consent_records_key', table_name='consent_records')
    op.drop_table('consent_records')
    op.drop_index('ix_archive_permits_user', table_name='archive_permits')
    op.drop_table('archive_permits')
    op.drop_table('directory_group_members')
    op.drop_table('directory_groups')
    op.drop_table('directory_departments')
    op.drop_index('ix_contact_names_id', table_name='contact_names')
    op.drop_table('contact_names')
    with op.batch_alter_table('contacts') as batch:
        for column in ('avatar_sha256', 'avatar_url', 'status', 'position', 'corp_full_name', 'corp_name', 'ext_type',
                       'source'):
            batch.drop_column(column)
