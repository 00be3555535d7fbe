"""Locale choice: the user's own setting, then the session's choice, then the configured default."""
from flask import current_app, g, has_request_context, request, session
from flask_login import current_user


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and Celery tasks: the configured default
        return current_app.config["DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):
        return _api_locale(languages)
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["DEFAULT_LOCALE"]


def _api_locale(languages):
    """API clients: Accept-Language ("zh", "zh-CN", "en-US"...), then the token user's setting,
    then the default. Never the session or current_user: the API authenticates by token only."""
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        for code in languages:
            if code.split("_")[0].lower() == primary:
                return code
    user = g.get("_login_user")  # set by notifier.api.auth from the bearer token
    if getattr(user, "locale", None) in languages:
        return user.locale
    return current_app.config["DEFAULT_LOCALE"]


def select_timezone():
    return current_app.config["TIMEZONE"]
