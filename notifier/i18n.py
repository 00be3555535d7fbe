"""Locale choice: the user's own setting, then the session's choice, then the configured default."""
from flask import current_app, has_request_context, session
from flask_login import current_user


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and Celery tasks: the configured default
        return current_app.config["DEFAULT_LOCALE"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["DEFAULT_LOCALE"]


def select_timezone():
    return current_app.config["TIMEZONE"]
