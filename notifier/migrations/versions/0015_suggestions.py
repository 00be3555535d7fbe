"""suggestions: deputies' suggestions (代表建议), numbered per year, handled to an answer

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 01:40:00
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'suggestions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=16), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('deputy_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('inbound_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('organ', sa.String(length=100), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('assigned_at', UTCDateTime(), nullable=True),
        sa.Column('assigned_by_id', sa.Integer(), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_at', UTCDateTime(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('answer_message_id', sa.Integer(), nullable=True),
        sa.Column('satisfaction', sa.String(length=24), nullable=True),
        sa.Column('rated_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_suggestions_deputy_id_deputies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'],
                                name=op.f('fk_suggestions_inbound_id_inbound_messages'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_suggestions_assigned_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_suggestions_answered_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['answer_message_id'], ['messages.id'],
                                name=op.f('fk_suggestions_answer_message_id_messages'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_suggestions_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestions')),
        sa.UniqueConstraint('number', name=op.f('uq_suggestions_number')),
        sa.UniqueConstraint('year', 'seq', name=op.f('uq_suggestions_year')),
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestions_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestions_status'), ['status'], unique=False)


def downgrade():
    op.drop_table('suggestions')
