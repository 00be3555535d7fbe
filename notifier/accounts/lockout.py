"""Lockout per account: after LOCKOUT_ATTEMPTS failed logins in a row (a wrong password or a wrong
second-step code, from any address) the account is locked for LOCKOUT_MINUTES, even for the right
password. The per-address rate limit on the login page is a separate, earlier guard. The
security administrator can unlock an account sooner; every lock and unlock is audited."""
from datetime import timedelta

from sqlalchemy import update

from notifier.accounts.models import User
from notifier.audit.service import record
from notifier.extensions import db
from notifier.timeutil import utcnow


def _policy():
    from notifier.accounts.security_policy import current_policy

    return current_policy()


def locked(user, now=None):
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def minutes_left(user, now=None):
    seconds = (user.locked_until - (now or utcnow())).total_seconds()
    return max(1, int(seconds // 60) + (1 if seconds % 60 else 0))


def failed(user, reason):
    """Count a failed attempt (atomically: attempts may arrive at once from several addresses);
    lock the account when it reaches the limit. Commits."""
    rules = _policy()
    count = db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    ).scalar_one()
    record("auth.login_failed", target=user, actor=user.username, reason=reason, attempt=count)
    if count >= rules["lockout_attempts"]:
        until = utcnow() + timedelta(minutes=rules["lockout_minutes"])
        db.session.execute(update(User).where(User.id == user.id).values(locked_until=until, failed_logins=0))
        record("auth.locked", target=user, actor="system", username=user.username, attempts=count,
               minutes=rules["lockout_minutes"])
    db.session.commit()
    db.session.refresh(user)


def succeeded(user):
    """A login went through: the count starts again (the caller commits)."""
    user.failed_logins = 0
    user.locked_until = None


def unlock(user, actor):
    user.failed_logins = 0
    was = user.locked_until
    user.locked_until = None
    record("auth.unlock", target=user, actor=actor, username=user.username,
           was_locked_until=was.isoformat() if was else None)
    db.session.commit()
