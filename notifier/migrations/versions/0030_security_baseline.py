"""security_baseline: two-factor login, password policy, lockout, three administrator roles

Revision ID: 0030
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""
import sqlalchemy as sa
from alembic import op

from notifier.types import UTCDateTime

revision = '0030'
down_revision = '0021'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'approver', 'composer', 'viewer')"
NEW_ROLES = "role IN ('admin', 'approver', 'composer', 'viewer', 'security_admin', 'auditor')"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_confirmed_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('recovery_code_hashes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('password_history', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', UTCDateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', NEW_ROLES)
    # Passwords set before the policy count from now, so nobody is forced to change at once.
    from notifier.timeutil import utcnow

    op.execute(sa.text("UPDATE users SET password_changed_at = :now")
               .bindparams(sa.bindparam("now", utcnow(), type_=UTCDateTime())))


def downgrade():
    op.execute(sa.text("DELETE FROM users WHERE role IN ('security_admin', 'auditor')"))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', OLD_ROLES)
        for column in ('locked_until', 'failed_logins', 'must_change_password', 'password_history',
                       'password_changed_at', 'recovery_code_hashes', 'totp_last_step', 'totp_confirmed_at',
                       'totp_secret'):
            batch_op.drop_column(column)
