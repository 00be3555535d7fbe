"""reports: the message log's indexes, the audit trail's actor index, daily delivery aggregates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delivery_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_daily'))
    )
    with op.batch_alter_table('delivery_daily', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_daily_day_notice_id', ['day', 'notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_daily_notice_id'), ['notice_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_deputy_id_id', ['deputy_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_notice_id_id', ['notice_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_messages_error_code_id', ['error_code', 'id'], unique=False)
        batch_op.create_index('ix_messages_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_messages_to_id', ['to', 'id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_actor_at', ['actor', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_actor_at')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_to_id')
        batch_op.drop_index('ix_messages_created_at')
        batch_op.drop_index('ix_messages_error_code_id')
        batch_op.drop_index('ix_messages_status_id')
        batch_op.drop_index('ix_messages_notice_id_id')
        batch_op.drop_index('ix_messages_deputy_id_id')

    with op.batch_alter_table('delivery_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_daily_notice_id'))
        batch_op.drop_index('ix_delivery_daily_day_notice_id')

    op.drop_table('delivery_daily')
