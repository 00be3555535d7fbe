"""Write audit events. Called inside the same transaction as the change it records."""
from flask import g, has_request_context, request
from flask_login import current_user

from notifier.audit.models import AuditEvent
from notifier.extensions import db


def record(action, target=None, actor=None, **detail):
    """Add an audit event to the current session (the caller commits with its change).

    `actor` is a User, or a string such as "cli" or "system"; by default the logged-in user.
    """
    user = None
    if target is not None and getattr(target, "id", None) is None:
        db.session.flush()  # so the event names the new row's id
    if actor is None and has_request_context() and getattr(current_user, "is_authenticated", False):
        actor = current_user._get_current_object()
    if actor is not None and not isinstance(actor, str):
        user, actor = actor, actor.username
    event = AuditEvent(
        user_id=user.id if user is not None else None,
        actor=actor or "anonymous",
        action=action,
        target_type=type(target).__tablename__ if target is not None else None,
        target_id=str(target.id) if target is not None and target.id is not None else None,
        detail=detail,
    )
    if has_request_context():
        event.ip = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:255]
    db.session.add(event)
    return event


def init_app(app):
    app.after_request(_audit_full_numbers_shown)


def _audit_full_numbers_shown(response):
    """Who saw deputies' full numbers, where and how many (personal information, MLPS 2.0)."""
    shown = g.pop("full_numbers_shown", 0)
    if shown and response.status_code < 400:
        try:
            record("personal.view_numbers", path=request.path[:200], numbers=shown,
                   query=request.query_string.decode("utf-8", "replace")[:200])
            db.session.commit()
        except Exception:  # noqa: BLE001  (the page was served; a failed audit write is logged)
            import logging

            db.session.rollback()
            logging.getLogger(__name__).exception("could not audit a view of full numbers")
    return response
