"""notices: the notice row (compose, approval, schedule, dispatch) and the settings table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:19:40.415982

"""
from alembic import op
import sqlalchemy as sa

import notifier.types


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('reply_mode', sa.String(length=16), nullable=False),
    sa.Column('reply_deadline', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reply_code', sa.String(length=8), nullable=True),
    sa.Column('scheduled_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('send_after', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('rejected_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.Column('recipient_count', sa.Integer(), nullable=True),
    sa.Column('created_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sending_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_notices_approved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_notices_cancelled_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notices_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rejected_by_id'], ['users.id'], name=op.f('fk_notices_rejected_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_reply_code'), ['reply_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_status'), ['status'], unique=False)
        batch_op.create_index('ix_notices_status_send_after', ['status', 'send_after'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('updated_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )


def downgrade():
    op.drop_table('settings')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_status_send_after')
        batch_op.drop_index(batch_op.f('ix_notices_status'))
        batch_op.drop_index(batch_op.f('ix_notices_reply_code'))
        batch_op.drop_index(batch_op.f('ix_notices_created_by_id'))

    op.drop_table('notices')
