"""deputy_groups: deputy groups, delegations and liaison stations, and their members

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:10:00
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'deputy_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deputy_groups')),
        sa.UniqueConstraint('name', name=op.f('uq_deputy_groups_name')),
    )
    op.create_table(
        'deputy_group_members',
        sa.Column('deputy_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_deputy_group_members_deputy_id_deputies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['deputy_groups.id'],
                                name=op.f('fk_deputy_group_members_group_id_deputy_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('deputy_id', 'group_id', name=op.f('pk_deputy_group_members')),
    )
    with op.batch_alter_table('deputy_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deputy_group_members_group_id'), ['group_id'], unique=False)


def downgrade():
    op.drop_table('deputy_group_members')
    op.drop_table('deputy_groups')
