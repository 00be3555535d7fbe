"""roster, accounts and audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 00:48:38.955944

"""
from alembic import op
import sqlalchemy as sa

import notifier.types


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deputies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('constituency', sa.String(length=128), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opted_out_via', sa.String(length=64), nullable=True),
    sa.Column('created_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deputies')),
    sa.UniqueConstraint('phone', name=op.f('uq_deputies_phone'))
    )
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deputies_name'), ['name'], unique=False)

    levels = op.create_table('levels',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_levels'))
    )
    # The four fixed levels of people's congress, highest first.
    op.bulk_insert(levels, [
        {'code': 'national', 'rank': 1},
        {'code': 'provincial', 'rank': 2},
        {'code': 'municipal', 'rank': 3},
        {'code': 'county', 'rank': 4},
    ])
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'approver', 'composer', 'viewer')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_user_id'), ['user_id'], unique=False)

    op.create_table('deputy_levels',
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('level_code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_deputy_levels_deputy_id_deputies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['level_code'], ['levels.code'], name=op.f('fk_deputy_levels_level_code_levels')),
    sa.PrimaryKeyConstraint('deputy_id', 'level_code', name=op.f('pk_deputy_levels'))
    )
    with op.batch_alter_table('deputy_levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deputy_levels_level_code'), ['level_code'], unique=False)

    op.create_table('deputy_tags',
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_deputy_tags_deputy_id_deputies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_deputy_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deputy_id', 'tag_id', name=op.f('pk_deputy_tags'))
    )
    with op.batch_alter_table('deputy_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deputy_tags_tag_id'), ['tag_id'], unique=False)



def downgrade():
    with op.batch_alter_table('deputy_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deputy_tags_tag_id'))

    op.drop_table('deputy_tags')
    with op.batch_alter_table('deputy_levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deputy_levels_level_code'))

    op.drop_table('deputy_levels')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('tags')
    op.drop_table('levels')
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deputies_name'))

    op.drop_table('deputies')
