"""Who is asking: session users (Flask-Login) and API tokens, and the role checks both use."""
from functools import wraps

from flask import abort, request
from flask_login import current_user

from notifier.accounts.models import ApiToken, User, hash_token
from notifier.extensions import db, login_manager
from notifier.timeutil import utcnow


@login_manager.user_loader
def load_user(session_id):
    """The session's user, if active and the session is of their current generation."""
    user_id, _, generation = str(session_id).partition(":")
    if not (user_id.isdigit() and generation.isdigit()) or int(user_id) > 2**31 - 1:
        return None  # a session from before generations, or a forged id
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or (user.session_generation or 0) != int(generation):
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req):
    """`Authorization: Bearer <token>` for the API. Revoked tokens and inactive users get nothing."""
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.execute(
        db.select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()))
    ).scalar_one_or_none()
    if row is None or row.revoked or not row.user.active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user


def permission_required(permission):
    """Decorator for views: 401 when not logged in (the login manager redirects pages), 403 when
    the role does not allow it."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def is_api_request():
    return request.path.startswith("/api/")
