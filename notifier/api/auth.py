"""API authentication: a bearer token, and nothing else.

The browser's session cookie must not authenticate the API: otherwise a page on another site
could make a logged-in user's browser call it (CSRF), and the API is exempt from CSRF tokens.
So API requests never consult the session: the user comes from the token or not at all.
"""
from flask import g, request
from flask_babel import gettext as _

from notifier.accounts.auth import load_user_from_token
from notifier.api.errors import REQUEST, ApiError
from notifier.extensions import login_manager


def authenticate():
    """before_request of every API blueprint: resolve the bearer token into current_user or 401."""
    user = load_user_from_token(request)
    # Flask-Login reads g._login_user before it would look at the session; setting it here means
    # the session cookie is never consulted for an API request.
    g._login_user = user if user is not None else login_manager.anonymous_user()
    if user is not None:
        return None
    if request.headers.get("Authorization"):
        message = _("The API token is not valid (wrong, revoked, or its user is disabled).")
        challenge = 'Bearer realm="api", error="invalid_token"'
    else:
        message = _("Authentication required: send an API token as 'Authorization: Bearer <token>'.")
        challenge = 'Bearer realm="api"'
    raise ApiError(401, errors={REQUEST: [message]}, message=message, headers={"WWW-Authenticate": challenge})
