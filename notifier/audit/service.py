"""Write audit events. Called inside the same transaction as the change it records."""
from flask import has_request_context, request
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
