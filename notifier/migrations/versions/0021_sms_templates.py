"""sms_templates: approved templates of template-only gateways; a notice may be composed from one

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 01:20:00
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sms_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('gateway', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('approved', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sms_templates_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_templates')),
        sa.UniqueConstraint('gateway', 'code', name='uq_sms_templates_gateway_code'),
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('template_params', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_template_id_sms_templates'), 'sms_templates',
                                    ['template_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_template_id_sms_templates'), type_='foreignkey')
        batch_op.drop_column('template_params')
        batch_op.drop_column('template_id')
    op.drop_table('sms_templates')
