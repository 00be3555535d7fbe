"""Plain functions for staff accounts, used by the CLI, the UI and the tests."""
from flask_babel import gettext as _

from notifier.accounts import passwords
from notifier.accounts.models import ROLES, ApiToken, User
from notifier.audit.service import record
from notifier.extensions import db
from notifier.timeutil import utcnow

MIN_PASSWORD = passwords.FLOOR_LENGTH  # the form's own check; the policy may ask for more


class AccountError(ValueError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field  # the form field it is about, when there is one


def create_user(username, role, password=None, display_name="", actor="cli", locale=None, must_change=False):
    """Create a user; returns (user, password). A random password is made when none is given.
    `must_change`: the user chooses their own at the first login (someone else knows this one)."""
    username = (username or "").strip()
    if not username:
        raise AccountError("username is required")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none():
        raise AccountError(f"user {username!r} already exists")
    password = password or passwords.generate()
    try:
        passwords.check(password, username)
    except passwords.PasswordRejected as exc:
        raise AccountError(str(exc), "password") from None
    user = User(username=username, role=role, display_name=display_name or username, locale=locale,
                must_change_password=bool(must_change))
    user.set_password(password)
    db.session.add(user)
    record("user.create", target=user, actor=actor, username=username, role=role)
    db.session.commit()
    return user, password


def change_password(user, current, new, actor=None):
    """The user's own new password. Every other session of theirs ends (see User.set_password)."""
    if not user.check_password(current or ""):
        raise AccountError(_("The current password is wrong."), "current_password")
    if new == current:
        raise AccountError(_("Choose a password you are not using now."), "new_password")
    try:
        passwords.check(new, user.username, user)
    except passwords.PasswordRejected as exc:
        raise AccountError(str(exc), "new_password") from None
    user.set_password(new, history=passwords.history_length())
    user.must_change_password = False
    record("user.password_change", target=user, actor=actor or user, username=user.username)
    db.session.commit()


def reset_password(user, new, actor):
    """Someone else sets the user's password: it must meet the policy, ends the user's sessions,
    and the user must choose their own at the next login."""
    try:
        passwords.check(new, user.username, user)
    except passwords.PasswordRejected as exc:
        raise AccountError(str(exc), "new_password") from None
    user.set_password(new, history=passwords.history_length())
    user.must_change_password = True


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


def change_role(user, role, actor):
    """The security administrator's: give `user` another role. Nobody changes their own (the
    duty that checks the others would be one person's to widen)."""
    if role not in ROLES:
        raise AccountError(_("No such role."), "role")
    if getattr(actor, "id", None) == user.id:
        raise AccountError(_("You cannot change your own role."), "role")
    if user.role != role:
        record("user.role_change", target=user, actor=actor, username=user.username, old=user.role, new=role)
        user.role = role
        # A role with more reach needs a second factor, and old sessions carry the old trust.
        user.session_generation = (user.session_generation or 0) + 1
    db.session.commit()
