"""follow-ups: a reminder, a resend or a one-off reply belongs to the notice it follows up

Revision ID: 0040
Revises: 0012
Create Date: 2026-12-02 01:00:00

notices.parent_id: the notice a follow-up belongs to (its page lists them; replies count there).
notices.follow_up: what kind of follow-up it is (reminder, resend, reply); NULL for a notice of
its own. Existing reminders get their parent from notice_reminders.
"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('follow_up', sa.String(length=16), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_parent_id_notices'), 'notices',
                                    ['parent_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_notices_parent_id'), ['parent_id'], unique=False)
    op.execute(
        "UPDATE notices SET follow_up = 'reminder', parent_id = ("
        " SELECT notice_reminders.notice_id FROM notice_reminders"
        " WHERE notice_reminders.reminder_notice_id = notices.id)"
        " WHERE id IN (SELECT reminder_notice_id FROM notice_reminders)")


def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_parent_id'))
        batch_op.drop_constraint(batch_op.f('fk_notices_parent_id_notices'), type_='foreignkey')
        batch_op.drop_column('follow_up')
        batch_op.drop_column('parent_id')
