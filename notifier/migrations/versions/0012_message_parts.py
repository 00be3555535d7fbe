"""message_parts: each part of a long text with its own gateway id and report (CMPP)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 22:40:00
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message_parts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('gateway', sa.String(length=16), nullable=False),
        sa.Column('gateway_id', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('number', sa.Integer(), nullable=True),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('stat', sa.String(length=16), nullable=True),
        sa.Column('reported_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_parts_message_id_messages'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_parts')),
        sa.UniqueConstraint('gateway', 'gateway_id', name='uq_message_parts_gateway_gateway_id'),
    )
    with op.batch_alter_table('message_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_parts_message_id'), ['message_id'], unique=False)


def downgrade():
    op.drop_table('message_parts')
