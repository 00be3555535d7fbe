"""aliyun: messages carry a template code and its variables; error codes up to 64 characters

Revision ID: 0020
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('template_params', sa.JSON(), nullable=True))
        batch_op.alter_column('error_code', existing_type=sa.String(length=16), type_=sa.String(length=64),
                              existing_nullable=True)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('error_code', existing_type=sa.String(length=64), type_=sa.String(length=16),
                              existing_nullable=True)
        batch_op.drop_column('template_params')
        batch_op.drop_column('template_code')
