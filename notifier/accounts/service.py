"""Plain functions for staff accounts, used by the CLI, the UI and the tests."""
import secrets

from notifier.accounts.models import ROLES, ApiToken, User
from notifier.audit.service import record
from notifier.extensions import db
from notifier.timeutil import utcnow


class AccountError(ValueError):
    pass


def create_user(username, role, password=None, display_name="", actor="cli", locale=None):
    """Create a user; returns (user, password). A random password is made when none is given."""
    username = (username or "").strip()
    if not username:
        raise AccountError("username is required")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none():
        raise AccountError(f"user {username!r} already exists")
    password = password or secrets.token_urlsafe(12)
    if len(password) < 8:
        raise AccountError("password must be at least 8 characters")
    user = User(username=username, role=role, display_name=display_name or username, locale=locale)
    user.set_password(password)
    db.session.add(user)
    record("user.create", target=user, actor=actor, username=username, role=role)
    db.session.commit()
    return user, password


def find_user(username):
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()


def issue_token(user, name="", actor="cli"):
    row, plaintext = ApiToken.issue(user, name=name)
    record("token.issue", target=row, actor=actor, user=user.username, name=name, prefix=row.prefix)
    db.session.commit()
    return row, plaintext


def revoke_token(row, actor=None):
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record("token.revoke", target=row, actor=actor, user=row.user.username, prefix=row.prefix)
        db.session.commit()
