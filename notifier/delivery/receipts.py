"""Status updates from the gateway (callbacks, polled receipts, reconciliation), forward only.

A final status never changes; `sent` is provisional; replays and out-of-order arrivals are harmless
because a move happens only to a status of higher rank.

Receipts that never come are asked for: a `sent` text is polled SMS_RECEIPT_POLL_AFTER_SECONDS
after it left, then again after as long as it has waited (doubling, at most
SMS_RECEIPT_POLL_MAX_INTERVAL_SECONDS); each poll is marked when it is queued, so a sweep queues it
once. After SMS_RECEIPT_MAX_AGE_HOURS the text is closed as "sent, no receipt": it stays `sent`
(a late receipt still moves it on) and counts as settled, so its notice completes.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from notifier.delivery import inbox
from notifier.delivery.models import DELIVERED, FAILED, RANK, SENT, UNDELIVERED, Message
from notifier.delivery.outbox import record_event, record_events
from notifier.delivery.sending import get_gateway
from notifier.extensions import db
from notifier.timeutil import utcnow

NO_RECEIPT = "no_receipt"  # the event kind of a text closed without a final receipt
STATUS_CALLBACK = "twilio.status"  # the kind of webhook request kept by inbox.accept

# Twilio's message statuses -> ours. Everything before delivery counts as `sent` (provisional).
TWILIO_STATUS = {
    "accepted": SENT, "scheduled": SENT, "queued": SENT, "sending": SENT, "sent": SENT,
    "delivered": DELIVERED, "undelivered": UNDELIVERED, "failed": FAILED,
    "read": DELIVERED, "receiving": None, "received": None, "canceled": None,
}


def apply_gateway_status(message, gateway_id, gateway_status, error_code=None, error_message=None,
                         source="callback", raw=None, at=None, quiet=False, status=None):
    """Move `message` (a locked row) forward to what the gateway says, as of `at` (default now).
    `status` is ours when the gateway's own word is not Twilio's (a CMPP Stat code).
    Records an event, unless `quiet` and nothing moved. Returns True when the status moved."""
    now = at or utcnow()
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
    if moved or not quiet:
        record_event(message.id, source, message.status, source, detail if moved else f"{detail} (no change)", raw)
    return moved


def apply_final_statuses(changes, source, now=None):
    """Many receipts at once (a CMPP connector's batch of reports, a gateway's pushed array):
    `changes` are (message_id, status, gateway_status, error_code, error_message) with a final
    status of ours. Forward only, like apply_gateway_status. Returns the ids that moved."""
    now = now or utcnow()
    groups = {}
    for mid, status, gateway_status, error_code, error_message in changes:
        groups.setdefault((status, gateway_status, error_code, error_message), []).append(mid)
    moved = []
    for (status, gateway_status, error_code, error_message), ids in groups.items():
        values = {"status": status, "gateway_status": gateway_status, "sent_at": func.coalesce(Message.sent_at, now),
                  "updated_at": now}
        if status == DELIVERED:
            values["delivered_at"] = now
        else:
            values.update(failed_at=now, error_code=error_code, error_message=error_message)
        lower = [s for s, rank in RANK.items() if rank < RANK[status]]
        ids = db.session.scalars(update(Message).where(Message.id.in_(ids), Message.status.in_(lower))
                                 .values(**values).returning(Message.id)
                                 .execution_options(synchronize_session=False)).all()
        detail = gateway_status + (f" {error_message}" if error_message else "")
        record_events([(mid, source, status, source, detail) for mid in ids])
        moved += ids
    return moved


def apply_status_callback(message_id, params, at=None):
    """A Twilio status callback (form fields) for our message `message_id` (from the callback URL;
    the MessageSid is used when the URL has none), received at `at` (default now). Commits.
    Returns the message or None."""
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
                         params.get("ErrorCode"), params.get("ErrorMessage"), source="callback", raw=dict(params),
                         at=at)
    db.session.commit()
    return message


@inbox.handler(STATUS_CALLBACK)
def _kept_status_callback(entry):
    return apply_status_callback(entry["message_id"], entry["form"], at=inbox.received_at(entry))


# --- receipts that do not come -------------------------------------------------------------------

def poll_receipt(message_id, gateway=None):
    """Ask the gateway for the status of a `sent` message that got no receipt. An event is
    written only when the status moves: a poll that still sees `sent` is not news."""
    row = db.session.execute(select(Message.gateway_id, Message.gateway)
                             .where(Message.id == message_id, Message.status == SENT)).first()
    db.session.commit()
    db.session.close()  # no session held while asking the gateway
    if row is None or not row.gateway_id:
        return None
    remote = (gateway or get_gateway(row.gateway)).fetch(row.gateway_id)
    if remote is None:  # this gateway cannot be asked: its receipts come to us or not at all
        return None
    message = db.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    apply_gateway_status(message, remote.gateway_id, remote.status, remote.error_code, remote.error_message,
                         source="sweeper", quiet=True)
    db.session.commit()
    return message.status


def _open():
    return and_(Message.status == SENT, Message.receipt_closed_at.is_(None))


def poll_interval(waited, config=None):
    """How long until the next poll of a text that has waited `waited` for its receipt: as long
    again (so polls thin out), within SMS_RECEIPT_POLL_AFTER_SECONDS..SMS_RECEIPT_POLL_MAX_INTERVAL_SECONDS."""
    config = config or current_app.config
    first = float(config["SMS_RECEIPT_POLL_AFTER_SECONDS"])
    cap = max(first, float(config["SMS_RECEIPT_POLL_MAX_INTERVAL_SECONDS"]))
    return timedelta(seconds=min(cap, max(first, waited.total_seconds())))


def claim_due_polls(now, limit):
    """Mark the `sent` texts whose receipt poll is due with the time of their next one, and return
    their ids: the caller queues one poll each. The mark is a conditional UPDATE, so sweeps that
    overlap queue a poll once. Does not commit."""
    first = timedelta(seconds=float(current_app.config["SMS_RECEIPT_POLL_AFTER_SECONDS"]))
    due = and_(_open(), or_(and_(Message.receipt_poll_at.is_(None), Message.sent_at < now - first),
                            Message.receipt_poll_at <= now))
    claimed = db.session.execute(
        update(Message).where(Message.id.in_(select(Message.id).where(due).order_by(Message.id).limit(limit)
                                             .scalar_subquery()), due)
        .values(receipt_poll_at=now + first).returning(Message.id, Message.sent_at)
        .execution_options(synchronize_session=False)).all()
    if claimed:
        db.session.execute(update(Message), [
            {"id": row.id, "receipt_poll_at": now + poll_interval(now - (row.sent_at or now))} for row in claimed])
    return sorted(row.id for row in claimed)


def close_unconfirmed(now, limit):
    """Close as "sent, no receipt" the texts still `sent` SMS_RECEIPT_MAX_AGE_HOURS after they left.
    Returns their ids. Does not commit."""
    hours = float(current_app.config["SMS_RECEIPT_MAX_AGE_HOURS"])
    stale = and_(_open(), Message.sent_at < now - timedelta(hours=hours))
    closed = db.session.scalars(
        update(Message).where(Message.id.in_(select(Message.id).where(stale).order_by(Message.id).limit(limit)
                                             .scalar_subquery()), stale)
        .values(receipt_closed_at=now, receipt_poll_at=None, updated_at=now).returning(Message.id)
        .execution_options(synchronize_session=False)).all()
    record_events([(mid, NO_RECEIPT, SENT, "sweeper", f"no final receipt within {hours:g} h: closed as sent")
                   for mid in closed])
    return sorted(closed)
