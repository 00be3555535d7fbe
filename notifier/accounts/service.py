"""Plain functions for staff accounts, used by the CLI, the UI and the tests."""
import secrets

from flask_babel import gettext as _

from notifier.accounts.models import ROLES, ApiToken, User
from notifier.audit.service import record
from notifier.extensions import db
from notifier.timeutil import utcnow

MIN_PASSWORD = 8


class AccountError(ValueError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field  # the form field it is about, when there is one


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
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")
    user = User(username=username, role=role, display_name=display_name or username, locale=locale)
    user.set_password(password)
    db.session.add(user)
    record("user.create", target=user, actor=actor, username=username, role=role)
    db.session.commit()
    return user, password


def change_password(user, current, new, actor=None):
    """The user's own new password. Every other session of theirs ends (see User.set_password)."""
    if not user.check_password(current or ""):
        raise AccountError(_("The current password is wrong."), "current_password")
    if len(new or "") < MIN_PASSWORD:
        raise AccountError(_("At least %(min)d characters.", min=MIN_PASSWORD), "new_password")
    if new == current:
        raise AccountError(_("Choose a password you are not using now."), "new_password")
    user.set_password(new)
    record("user.password_change", target=user, actor=actor or user, username=user.username)
    db.session.commit()


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
