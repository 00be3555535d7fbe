"""several gateways: each message names its gateway; a row per gateway for order, pause, health

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:30:00

Texts sent before this revision all went through Twilio, the only gateway there was.
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'gateways',
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('health', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=True),
        sa.Column('health_since', UTCDateTime(), nullable=False),
        sa.Column('checked_at', UTCDateTime(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_gateways')),
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_messages_gateway_status', ['gateway', 'status'], unique=False)
    op.execute("UPDATE messages SET gateway = 'twilio' WHERE gateway_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_gateway_status')
        batch_op.drop_column('gateway')
    op.drop_table('gateways')
