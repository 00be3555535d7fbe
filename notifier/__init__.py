"""人大短信平台: the Flask application factory."""
import logging
import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from notifier.extensions import babel, csrf, db, limiter, login_manager, migrate

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def create_app(config=None, **overrides):
    """Build the web application.

    `config` is a settings class or the name of one ("testing", "production"...); `overrides`
    are applied last (tests use them to point at their own database).
    """
    from config import get_config

    app = Flask(__name__)
    app.config.from_object(get_config(config) if config is None or isinstance(config, str) else config)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set")
    from notifier.settings_check import check_settings

    check_settings(app.config)
    if app.config["TRUSTED_PROXIES"]:
        # X-Forwarded-* set by that many proxies of ours are believed; anything a client adds before
        # them is not (the login limit and the audit trail use the address this yields).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    _init_extensions(app)
    _register_blueprints(app)
    from notifier.cli import register_commands

    register_commands(app)
    logging.getLogger("notifier").setLevel(logging.INFO)
    _init_logging(app)
    # twilio's client logs every request and its headers at INFO: too much for a worker's log.
    for name in ("twilio.http_client", "twilio.async_http_client"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return app


def _init_logging(app):
    """LOG_FORMAT=json: JSON lines with the notice and message ids of the request (from its URL:
    /notices/<notice_id>, /messages/<message_id>, the API's alike)."""
    from flask import request

    from notifier.ops import logs

    if app.config["LOG_FORMAT"].lower() == "json":
        logs.configure("json", process_name="web")

    @app.before_request
    def _request_ids():
        logs.clear_ids()
        args = request.view_args or {}
        logs.set_ids(notice_id=args.get("notice_id"), message_id=args.get("message_id"))

    @app.teardown_request
    def _end_request_ids(_exc=None):
        logs.clear_ids()  # a thread's later lines (another request's, a timer's) do not carry them


def _init_extensions(app):
    import notifier.models  # noqa: F401  (the whole schema, for Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "notifier-limiter")
    limiter.init_app(app)

    from notifier.catalogues import APP_CATALOGUES, catalogue_directory
    from notifier.i18n import select_locale, select_timezone

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", catalogue_directory(APP_CATALOGUES, "messages"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    from notifier.accounts import (
        auth,  # noqa: F401  (registers the user loader)
        sessions,
    )

    sessions.init_app(app)
    from notifier.audit.service import init_app as init_audit

    init_audit(app)


def _register_blueprints(app):
    from notifier.accounts.views import bp as auth_bp
    from notifier.api import init_api
    from notifier.web import init_web

    app.register_blueprint(auth_bp)
    from notifier.ops.views import bp as ops_bp  # /healthz, /readyz, /metrics

    app.register_blueprint(ops_bp)
    from notifier.delivery.views import bp as delivery_bp

    app.register_blueprint(delivery_bp)
    csrf.exempt(delivery_bp)  # Twilio signs its webhooks; there is no session to forge
    from notifier.replies.webhook import bp as replies_webhook_bp  # issue 5: inbound texts

    app.register_blueprint(replies_webhook_bp)
    csrf.exempt(replies_webhook_bp)
    from notifier.gateways.aliyun.webhook import bp as aliyun_webhook_bp  # issue 12

    app.register_blueprint(aliyun_webhook_bp)
    csrf.exempt(aliyun_webhook_bp)  # no session: the secret path is the credential
    init_web(app)
    init_api(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite for the demo: WAL so the worker and the web app can share the file, foreign keys on,
    and a busy timeout instead of 'database is locked' errors."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
