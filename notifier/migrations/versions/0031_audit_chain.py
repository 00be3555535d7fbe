"""audit_chain: each audit row chained to the one before it; append-only on PostgreSQL

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02 01:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

# Updates never; deletes only of rows older than the retention floor (180 days), which the purge
# does. TRUNCATE (test clean-up, a restore) is a table-level statement these row triggers do not see.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < now() - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
    _chain_existing_rows()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)


def _chain_existing_rows():
    """Rows written before the chain get it now, in id order (from here on they are covered)."""
    from types import SimpleNamespace

    from notifier.audit.chain import GENESIS, row_digest
    from notifier.types import UTCDateTime

    bind = op.get_bind()
    table = sa.table('audit_events', sa.column('id', sa.BigInteger), sa.column('at', UTCDateTime()),
                     sa.column('user_id', sa.Integer), sa.column('actor', sa.String), sa.column('action', sa.String),
                     sa.column('target_type', sa.String), sa.column('target_id', sa.String),
                     sa.column('detail', sa.JSON), sa.column('ip', sa.String), sa.column('user_agent', sa.String),
                     sa.column('prev_hash', sa.String), sa.column('row_hash', sa.String))
    prev = GENESIS
    for row in bind.execute(sa.select(table).order_by(table.c.id)).mappings().all():
        digest = row_digest(SimpleNamespace(**row), prev)
        bind.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=prev, row_hash=digest))
        prev = digest


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
