import hashlib
import secrets

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

ROLES = ("admin", "approver", "composer", "viewer", "security_admin", "auditor")
ROLE_LABELS = {
    "admin": _l("System administrator"),
    "approver": _l("Approver"),
    "composer": _l("Composer"),
    "viewer": _l("Viewer"),
    "security_admin": _l("Security administrator"),
    "auditor": _l("Audit administrator"),
}
# What each role may do. The three administrator duties (三员分立, MLPS 2.0 level 3) are kept
# apart: the system administrator runs users, settings and gateways (and the office's work), the
# security administrator roles, the security policy and unlocking, the audit administrator reads
# the audit trail. None holds another's permission.
PERMISSIONS = {
    "view": {"viewer", "composer", "approver", "admin"},
    "edit_roster": {"composer", "approver", "admin"},
    "compose": {"composer", "approver", "admin"},
    "approve": {"approver", "admin"},
    "admin": {"admin"},
    "security": {"security_admin"},
    "audit": {"auditor"},
    # One's own account: password, second factor.
    "account": set(ROLES),
}
# Roles that must log in with a second factor; anyone else may turn it on for themselves.
TOTP_ROLES = frozenset({"admin", "approver", "security_admin", "auditor"})
TOKEN_PREFIX = "ntf_"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), nullable=False, unique=True)
    display_name = db.Column(db.String(64), nullable=False, default="")
    password_hash = db.Column(db.String(255), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="viewer")
    locale = db.Column(db.String(16))
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = db.Column(UTCDateTime)
    # Stamped in every session (see get_id); raised to end every session of the user at once.
    session_generation = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # Two-factor login (accounts/totp.py): the secret is kept from the enrolment page on, and only
    # counts once a code from it was confirmed. The last time step used refuses a code replayed.
    totp_secret = db.Column(db.String(64))
    totp_confirmed_at = db.Column(UTCDateTime)
    totp_last_step = db.Column(db.BigInteger)
    recovery_code_hashes = db.Column(db.JSON)
    # Password policy (accounts/passwords.py): when it was set, the last few hashes, a forced change.
    password_changed_at = db.Column(UTCDateTime)
    password_history = db.Column(db.JSON)
    must_change_password = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # Lockout per account (accounts/lockout.py), whatever address the attempts come from.
    failed_logins = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    locked_until = db.Column(UTCDateTime)

    __table_args__ = (db.CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        # What a session stores: a new generation (new password, "log out everywhere") ends them all.
        return f"{self.id}:{self.session_generation or 0}"

    def set_password(self, password, history=5):
        """A new password ends every session of the user (the caller renews the current one).
        The hash it replaces joins the history (the policy refuses the last few again)."""
        if self.password_hash:
            self.password_history = ([self.password_hash] + list(self.password_history or []))[:max(history, 0)]
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = utcnow()
        if self.id is not None:
            self.session_generation = (self.session_generation or 0) + 1

    @property
    def totp_enrolled(self):
        return self.totp_secret is not None and self.totp_confirmed_at is not None

    @property
    def needs_second_factor(self):
        return self.role in TOTP_ROLES or self.totp_enrolled

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def can(self, permission):
        return self.role in PERMISSIONS[permission]

    @property
    def role_label(self):
        return ROLE_LABELS.get(self.role, self.role)

    def __str__(self):
        return self.display_name or self.username


def hash_token(token):
    # Tokens are 256-bit random strings, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(64), nullable=False, default="")
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    prefix = db.Column(db.String(12), nullable=False)  # shown so people can tell tokens apart
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(UTCDateTime)
    revoked_at = db.Column(UTCDateTime)

    user = db.relationship(User, backref=db.backref("api_tokens", passive_deletes=True))

    @classmethod
    def issue(cls, user, name=""):
        """Create a token; returns (row, plaintext). The plaintext is shown once, never stored."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls(user=user, name=name, token_hash=hash_token(plaintext), prefix=plaintext[:10])
        db.session.add(row)
        return row, plaintext

    @property
    def revoked(self):
        return self.revoked_at is not None
