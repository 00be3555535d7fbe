"""delivery: messages (the outbox), message events, gateway exchanges

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:53:51.154527

"""
from alembic import op
import sqlalchemy as sa

import notifier.types


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('deputy_id', sa.Integer(), nullable=True),
    sa.Column('to', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=8), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gateway_id', sa.String(length=64), nullable=True),
    sa.Column('gateway_status', sa.String(length=16), nullable=True),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('queued_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', notifier.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_messages_deputy_id_deputies'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('gateway_id', name=op.f('uq_messages_gateway_id')),
    sa.UniqueConstraint('notice_id', 'deputy_id', name='uq_messages_notice_id_deputy_id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index('ix_messages_status_claimed_at', ['status', 'claimed_at'], unique=False)
        batch_op.create_index('ix_messages_status_queued_at', ['status', 'queued_at'], unique=False)
        batch_op.create_index('ix_messages_status_sent_at', ['status', 'sent_at'], unique=False)

    op.create_table('gateway_exchanges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('request', sa.JSON(), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_gateway_exchanges_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_exchanges'))
    )
    with op.batch_alter_table('gateway_exchanges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateway_exchanges_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_gateway_exchanges_message_id'), ['message_id'], unique=False)

    op.create_table('message_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_events_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_events'))
    )
    with op.batch_alter_table('message_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_events_message_id'), ['message_id'], unique=False)



def downgrade():
    with op.batch_alter_table('message_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_events_message_id'))

    op.drop_table('message_events')
    with op.batch_alter_table('gateway_exchanges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateway_exchanges_message_id'))
        batch_op.drop_index(batch_op.f('ix_gateway_exchanges_at'))

    op.drop_table('gateway_exchanges')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_sent_at')
        batch_op.drop_index('ix_messages_status_queued_at')
        batch_op.drop_index('ix_messages_status_claimed_at')
        batch_op.drop_index(batch_op.f('ix_messages_notice_id'))
        batch_op.drop_index(batch_op.f('ix_messages_deputy_id'))

    op.drop_table('messages')
