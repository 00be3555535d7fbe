"""messages.notice_id references notices.id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 03:40:00

The notices table arrived after messages (issue 4), so the reference is added here. Rows whose
notice does not exist (none are written by the application) are detached first, so the
constraint can be created on any database.
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE messages SET notice_id = NULL WHERE notice_id IS NOT NULL "
               "AND notice_id NOT IN (SELECT id FROM notices)")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_messages_notice_id_notices'), 'notices', ['notice_id'], ['id'])


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_notice_id_notices'), type_='foreignkey')
