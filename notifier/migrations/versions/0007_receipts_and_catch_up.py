"""receipt polls bounded (messages.receipt_poll_at, receipt_closed_at); gateway_cursors

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00

A `sent` text is polled for its receipt once per interval (receipt_poll_at marks when the next
poll is due) and closed as "sent, no receipt" after a deadline (receipt_closed_at). The catch-up
of inbound texts keeps how far it has read the gateway's list in gateway_cursors.
"""
from alembic import op
import sqlalchemy as sa

import notifier.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_poll_at', notifier.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('receipt_closed_at', notifier.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_receipts', ['status', 'receipt_closed_at', 'receipt_poll_at'], unique=False)

    op.create_table('gateway_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', notifier.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_gateway_cursors'))
    )


def downgrade():
    op.drop_table('gateway_cursors')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_receipts')
        batch_op.drop_column('receipt_closed_at')
        batch_op.drop_column('receipt_poll_at')
