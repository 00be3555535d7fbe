"""keyset pages of the notice list and the inbox: (created_at, id) and (received_at, id) indexes

Revision ID: 0060
Revises: 0050
Create Date: 2026-12-02 05:00:00

The notice list pages by (created_at, id) and the inbox by (received_at, id), newest first
(notifier/paging.py): an index on the pair lets a page read just its rows, however deep.
"""
from alembic import op


revision = '0060'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_notices_created_at_id', 'notices', ['created_at', 'id'], unique=False)
    op.create_index('ix_inbound_messages_received_at_id', 'inbound_messages', ['received_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_inbound_messages_received_at_id', table_name='inbound_messages')
    op.drop_index('ix_notices_created_at_id', table_name='notices')
