"""Login sessions: ended after SESSION_IDLE_MINUTES unused and SESSION_LIFETIME_HOURS after the
login however busy, and all of a user's sessions at once when their password changes or they
log out everywhere (the user's session generation, stamped in the session, no longer matches).

"Remember me" makes the session cookie outlive the browser, within the same two limits; the
cookie's own expiry and signature age are the lifetime, so an old cookie is worthless anyway.
Flask-Login's separate remember-me cookie is not used.
"""
import time
from datetime import timedelta

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from notifier.audit.service import record
from notifier.extensions import db

LOGIN_AT, SEEN_AT = "_login_at", "_seen_at"
SEEN_EVERY = 60  # seconds: the last-seen stamp is rewritten at most this often (one cookie a minute)
# The notice page asks for progress and replies every few seconds by itself: not the user's doing.
POLL_HEADER = "X-Notifier-Poll"


def init_app(app):
    app.permanent_session_lifetime = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    app.before_request(enforce_limits)


def start(user, remember=False):
    """Log `user` in on this browser, stamped now."""
    login_user(user, remember=False)
    session.permanent = bool(remember)
    now = int(time.time())
    session[LOGIN_AT] = session[SEEN_AT] = now


def renew(user):
    """Keep this browser logged in after the user's generation changed (their own new password),
    with the same login time: a new password does not extend the session."""
    stamps = {key: session.get(key) for key in (LOGIN_AT, SEEN_AT)}
    login_user(user, remember=False)
    session.update(stamps)


def end_everywhere(user, actor=None):
    """End every session of `user` (this one too), e.g. "log out everywhere"."""
    user.session_generation = (user.session_generation or 0) + 1
    record("auth.logout_everywhere", target=user, actor=actor or user)
    db.session.commit()


def enforce_limits():
    """before_request: end a session that is idle, too old, or ended elsewhere."""
    if request.path.startswith("/api/") or "_user_id" not in session:
        return  # the API authenticates by token only; nobody is logged in here
    if request.endpoint and request.endpoint.endswith("static"):
        return
    now, config = int(time.time()), _limits()
    user = current_user._get_current_object()
    if not user.is_authenticated:  # password changed, logged out everywhere, deactivated
        _end(None, _("Your session has ended. Please log in again."))
        return
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if login_at is None or seen_at is None:  # a session from before these limits
        _end(user, _("Your session has ended. Please log in again."), "unstamped")
    elif now - seen_at > config["idle"]:
        _end(user, _("You were logged out after %(minutes)d minutes without activity.",
                             minutes=config["idle"] // 60), "idle")
    elif now - login_at > config["lifetime"]:
        _end(user, _("You were logged out %(hours)d hours after logging in. Please log in again.",
                             hours=config["lifetime"] // 3600), "lifetime")
    else:
        if now - seen_at >= SEEN_EVERY and not request.headers.get(POLL_HEADER):
            session[SEEN_AT] = now
        return _force_password_change(user)


# What a user whose password must change may still reach.
_WHILE_CHANGING = {"account.index", "auth.logout", "auth.logout_everywhere", "auth.set_language"}


def _force_password_change(user):
    """An expired password, or one an administrator set: the change form before anything else."""
    from notifier.accounts import passwords

    if request.endpoint in _WHILE_CHANGING or not passwords.expired(user):
        return None
    if request.headers.get(POLL_HEADER):
        return "", 409
    flash(_("Your password must be changed before you go on."), "warning")
    return redirect(url_for("account.index"))


def _limits():
    from flask import current_app

    return {"idle": current_app.config["SESSION_IDLE_MINUTES"] * 60,
            "lifetime": current_app.config["SESSION_LIFETIME_HOURS"] * 3600}


def _end(user, message, reason=None):
    if user is not None:
        record("auth.session_expired", target=user, actor=user, reason=reason)
        db.session.commit()
    logout_user()
    _clear_keeping_locale()
    flash(message, "info")


def _clear_keeping_locale():
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
