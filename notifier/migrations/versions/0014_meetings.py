"""meetings: a meeting invitation's time and place, and the attendance recorded

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:20:00
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('meeting_place', sa.String(length=200), nullable=True))
    op.create_table(
        'meeting_attendance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('deputy_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('signed_in_at', UTCDateTime(), nullable=True),
        sa.Column('inbound_id', sa.Integer(), nullable=True),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_meeting_attendance_notice_id_notices'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_meeting_attendance_deputy_id_deputies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'],
                                name=op.f('fk_meeting_attendance_inbound_id_inbound_messages'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_meeting_attendance_set_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendance')),
        sa.UniqueConstraint('notice_id', 'deputy_id', name=op.f('uq_meeting_attendance_notice_id')),
    )
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_attendance_deputy_id'), ['deputy_id'], unique=False)


def downgrade():
    op.drop_table('meeting_attendance')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('meeting_place')
        batch_op.drop_column('meeting_at')
