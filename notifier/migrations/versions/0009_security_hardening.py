"""security hardening: notices' last editor, users' session generation, replies' reason

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:30:00

notices.last_edited_by_id: whoever last changed what goes out may not approve it (four eyes).
Existing notices get the author of their latest recorded edit, else their author.
users.session_generation: stamped in every session; raising it ends the user's other sessions.
inbound_messages.reason / reason_word: the rule that decided a reply's kind, and the word it saw.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_edited_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_last_edited_by_id_users'), 'users',
                                    ['last_edited_by_id'], ['id'], ondelete='SET NULL')
    op.execute(
        "UPDATE notices SET last_edited_by_id = COALESCE(("
        " SELECT audit_events.user_id FROM audit_events"
        " WHERE audit_events.target_type = 'notices' AND audit_events.action = 'notice.update'"
        " AND audit_events.target_id = CAST(notices.id AS VARCHAR(64)) AND audit_events.user_id IS NOT NULL"
        " ORDER BY audit_events.id DESC LIMIT 1), created_by_id)")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('reason_word', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('reason_word')
        batch_op.drop_column('reason')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_last_edited_by_id_users'), type_='foreignkey')
        batch_op.drop_column('last_edited_by_id')
