"""roster order by pinyin: deputies.name_sort, the pinyin key of the name

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-02 02:30:00

The key is filled for the deputies already on the roster; from now on the model sets it
whenever a name is set (form, API, import).
"""
from alembic import op
import sqlalchemy as sa

from notifier.roster.pinyin import name_sort_key


revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_sort', sa.String(length=255), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_deputies_name_sort'), ['name_sort'], unique=False)
    bind = op.get_bind()
    deputies = sa.table('deputies', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('name_sort', sa.String))
    rows = bind.execute(sa.select(deputies.c.id, deputies.c.name)).all()
    for deputy_id, name in rows:
        bind.execute(deputies.update().where(deputies.c.id == deputy_id).values(name_sort=name_sort_key(name)))
    # The model fills it from now on; the server default was only for the rows already there.
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.alter_column('name_sort', existing_type=sa.String(length=255), server_default=None)


def downgrade():
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deputies_name_sort'))
        batch_op.drop_column('name_sort')
