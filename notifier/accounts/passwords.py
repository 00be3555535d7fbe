"""The password policy (MLPS 2.0 level 3: 身份鉴别 with complexity and periodic change): a length,
several character classes, not the username, none of the last few passwords, and an expiry after
which the next page is the change-password form.

The figures come from the settings (PASSWORD_*), and the security administrator may tighten or
relax them within floors no setting goes under (security_policy.py stores the choice).
"""
import secrets
import string
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from notifier.timeutil import utcnow

FLOOR_LENGTH = 8
FLOOR_CLASSES = 2
CLASSES = (str.islower, str.isupper, str.isdigit)


class PasswordRejected(ValueError):
    pass


def policy():
    from notifier.accounts.security_policy import current_policy

    return current_policy()


def classes_in(password):
    found = sum(any(test(ch) for ch in password) for test in CLASSES)
    return found + any(not ch.isalnum() for ch in password)


def problems(password, username, user=None):
    """What is wrong with `password` as a new password (an empty list when it is fine)."""
    rules = policy()
    password = password or ""
    found = []
    if len(password) < rules["min_length"]:
        found.append(_("At least %(min)d characters.", min=rules["min_length"]))
    if classes_in(password) < rules["min_classes"]:
        found.append(_("Use at least %(n)d of: lower-case letters, capitals, digits, other signs.",
                       n=rules["min_classes"]))
    name = (username or "").strip().lower()
    if name and len(name) >= 3 and name in password.lower():
        found.append(_("The password must not contain the username."))
    if user is not None and _used_before(user, password, rules["history"]):
        found.append(_("Choose a password you have not used for this account lately (the last %(n)d are refused).",
                       n=rules["history"]))
    return found


def check(password, username, user=None):
    found = problems(password, username, user)
    if found:
        raise PasswordRejected(" ".join(found))


def _used_before(user, password, history):
    hashes = ([user.password_hash] if user.password_hash else []) + list(user.password_history or [])[:history]
    return any(check_password_hash(old, password) for old in hashes)


def history_length():
    return policy()["history"]


def generate():
    """A random password that meets any policy within the floors (printed once by the CLI)."""
    alphabet = string.ascii_letters + string.digits + "-_.!"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(max(16, policy()["min_length"])))
        if classes_in(candidate) == 4:
            return candidate


def expired(user, now=None):
    """True when the user must choose a new password before anything else."""
    if user.must_change_password:
        return True
    days = policy()["max_age_days"]
    if not days or user.password_changed_at is None:
        return False
    return (now or utcnow()) - user.password_changed_at > timedelta(days=days)


def config_defaults():
    config = current_app.config
    return {"min_length": config["PASSWORD_MIN_LENGTH"], "min_classes": config["PASSWORD_MIN_CLASSES"],
            "history": config["PASSWORD_HISTORY"], "max_age_days": config["PASSWORD_MAX_AGE_DAYS"],
            "lockout_attempts": config["LOCKOUT_ATTEMPTS"], "lockout_minutes": config["LOCKOUT_MINUTES"]}
