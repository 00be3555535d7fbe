"""Status updates from the gateway (callbacks, polled receipts, reconciliation), forward only.

A final status never changes; `sent` is provisional; replays and out-of-order arrivals are harmless
because a move happens only to a status of higher rank.
"""
from sqlalchemy import select, update

from notifier.delivery.models import DELIVERED, FAILED, RANK, SENT, UNDELIVERED, Message
from notifier.delivery.outbox import record_event
from notifier.extensions import db
from notifier.timeutil import utcnow

# Twilio's message statuses -> ours. Everything before delivery counts as `sent` (provisional).
TWILIO_STATUS = {
    "accepted": SENT, "scheduled": SENT, "queued": SENT, "sending": SENT, "sent": SENT,
    "delivered": DELIVERED, "undelivered": UNDELIVERED, "failed": FAILED,
    "read": DELIVERED, "receiving": None, "received": None, "canceled": None,
}


def apply_gateway_status(message, gateway_id, gateway_status, error_code=None, error_message=None,
                         source="callback", raw=None, status=None):
    """Move `message` (a locked row) forward to what the gateway says; always records an event.
    `status` is ours when the gateway's own word is not Twilio's (a CMPP Stat code).
    Returns True when the status moved."""
    now = utcnow()
    new = status or TWILIO_STATUS.get((gateway_status or "").lower())
    detail = f"{gateway_status}" + (f" {error_code}" if error_code else "")
    if gateway_id and message.gateway_id and gateway_id != message.gateway_id:
        # Not the text we know of: record it (a duplicate would be a defect), change nothing.
        record_event(message.id, source, message.status, source, f"{detail} for other id {gateway_id}", raw)
        return False
    if gateway_id and message.gateway_id is None:
        owner = db.session.scalar(select(Message.id).where(Message.gateway_id == gateway_id))
        if owner is None:
            message.gateway_id = gateway_id
    moved = new is not None and RANK[new] > RANK[message.status]
    if moved:
        # A conditional UPDATE, not an attribute change: two callbacks for one text may race, and
        # without row locks (SQLite) the slower one must not overwrite a higher status.
        values = {"status": new, "gateway_status": gateway_status, "sent_at": message.sent_at or now,
                  "updated_at": now}
        if new == DELIVERED:
            values["delivered_at"] = now
        elif new in (UNDELIVERED, FAILED):
            values.update(failed_at=now, error_code=str(error_code) if error_code else message.error_code,
                          error_message=error_message or message.error_message)
        elif new == SENT:
            values.update(error_code=None, error_message=None)
        lower = [status for status, rank in RANK.items() if rank < RANK[new]]
        moved = db.session.execute(
            update(Message).where(Message.id == message.id, Message.status.in_(lower)).values(**values)
            .execution_options(synchronize_session=False)).rowcount == 1
        db.session.expire(message)
    record_event(message.id, source, message.status, source, detail if moved else f"{detail} (no change)", raw)
    return moved


def apply_status_callback(message_id, params):
    """A Twilio status callback (form fields) for our message `message_id` (from the callback URL;
    the MessageSid is used when the URL has none). Commits. Returns the message or None."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    query = select(Message).with_for_update()
    if message_id is not None:
        query = query.where(Message.id == message_id)
    elif sid:
        query = query.where(Message.gateway_id == sid)
    else:
        return None
    message = db.session.scalar(query)
    if message is None:
        db.session.rollback()
        return None
    apply_gateway_status(message, sid, params.get("MessageStatus") or params.get("SmsStatus"),
                         params.get("ErrorCode"), params.get("ErrorMessage"), source="callback", raw=dict(params))
    db.session.commit()
    return message
