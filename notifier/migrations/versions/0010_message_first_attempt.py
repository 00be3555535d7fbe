"""messages.first_attempt_at: transient failures give up by time since the first try

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00

Texts already tried get their last claim time as a stand-in for the first try.
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_attempt_at', UTCDateTime(), nullable=True))
    op.execute("UPDATE messages SET first_attempt_at = claimed_at WHERE claimed_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('first_attempt_at')
