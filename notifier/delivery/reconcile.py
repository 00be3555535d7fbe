"""Finding what the broker lost and what the gateway knows.

- `reconcile(message_id)`: a message left in `sending` (its call timed out, or its worker died) is
  looked up at the gateway (Messages list by To and DateSent, matched on body and creation time):
  adopted when the gateway has it, queued again when it does not. Nothing is resent before that.
- `sweep()`: the periodic job. Queues again messages `queued` but not moving (a flushed or
  restarted Redis) and `pending` ones left unqueued, reconciles `sending` rows past their lease,
  polls receipts of `sent` rows left without one (each once per interval, see receipts.py),
  closes those past the receipt deadline, and purges old gateway exchanges.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from notifier.delivery import dispatch
from notifier.delivery.gateway import reconcile_window_start
from notifier.delivery.models import (
    FAILED,
    PENDING,
    QUEUED,
    SENDING,
    SENT,
    GatewayExchange,
    Message,
)
from notifier.delivery.outbox import record_event, record_events
from notifier.delivery.receipts import apply_gateway_status, claim_due_polls, close_unconfirmed
from notifier.delivery.sending import get_gateway
from notifier.extensions import db
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
SWEEP_LIMIT = 5000


def reconcile(message_id, gateway=None, source="reconcile"):
    """Settle a message in `sending`. Returns "adopted", "requeued", "failed" or "nothing"."""
    gateway = gateway or get_gateway()
    message = db.session.get(Message, message_id)
    if message is None or message.status != SENDING:
        db.session.rollback()
        return "nothing"
    to, body, since, claimed_at = message.to, message.body, message.created_at, message.claimed_at
    known_id = message.gateway_id
    db.session.commit()
    db.session.close()  # no session held while asking the gateway

    if known_id:  # a callback told us its id already
        found = [gateway.fetch(known_id)]
    else:
        found = gateway.find_sent(to, body, reconcile_window_start(since))
        if found:
            owned = set(db.session.scalars(select(Message.gateway_id).where(
                Message.gateway_id.in_([m.gateway_id for m in found]))))
            found = [m for m in found if m.gateway_id not in owned]

    message = db.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    if message is None or message.status != SENDING or message.claimed_at != claimed_at:
        db.session.rollback()
        return "nothing"  # someone else settled it meanwhile
    if found:
        remote = found[0]
        message.gateway_id = message.gateway_id or remote.gateway_id
        message.status = SENT
        message.sent_at = message.sent_at or utcnow()
        message.error_code = message.error_message = None
        detail = f"adopted {remote.gateway_id} ({remote.status})"
        if len(found) > 1:
            detail += f"; the gateway holds {len(found)} matching texts"
        record_event(message.id, "reconcile", SENT, source, detail)
        apply_gateway_status(message, remote.gateway_id, remote.status, remote.error_code, remote.error_message,
                             source=source)
        db.session.commit()
        return "adopted"
    if message.attempts >= int(current_app.config["SMS_MAX_ATTEMPTS"]):
        message.status, message.failed_at = FAILED, utcnow()
        message.error_message = f"gave up after {message.attempts} attempts: {message.error_message or 'no answer'}"
        record_event(message.id, "reconcile", FAILED, source, message.error_message)
        db.session.commit()
        return "failed"
    message.status, message.queued_at = QUEUED, utcnow()
    record_event(message.id, "reconcile", QUEUED, source, "not at the gateway: sending again")
    db.session.commit()
    dispatch.send_messages([message_id])
    return "requeued"


def sweep(now=None):
    """One pass of the periodic sweeper. Returns what it did, by kind."""
    config = current_app.config
    now = now or utcnow()
    stale_queued = now - timedelta(seconds=float(config["SMS_REQUEUE_AFTER_SECONDS"]))
    lease_over = now - timedelta(seconds=float(config["SMS_SEND_LEASE_SECONDS"]))

    # Queued but not moving: the task was lost (Redis flushed or restarted). Duplicated tasks
    # are harmless: only one claim can win.
    requeue = db.session.scalars(
        update(Message).where(Message.id.in_(
            select(Message.id).where(Message.status == QUEUED,
                                     or_(Message.queued_at.is_(None), Message.queued_at < stale_queued))
            .order_by(Message.id).limit(SWEEP_LIMIT).scalar_subquery()))
        .values(queued_at=now).returning(Message.id)).all()
    record_events([(mid, "sweep", QUEUED, "sweeper", "queued again: not moving") for mid in requeue])
    # Written but never queued: whoever wrote them stopped before queueing them.
    stranded = db.session.scalars(
        update(Message).where(Message.id.in_(
            select(Message.id).where(Message.status == PENDING, Message.created_at < stale_queued)
            .order_by(Message.id).limit(SWEEP_LIMIT).scalar_subquery()), Message.status == PENDING)
        .values(status=QUEUED, queued_at=now, updated_at=now).returning(Message.id)).all()
    record_events([(mid, "sweep", QUEUED, "sweeper", "queued: left pending") for mid in stranded])
    requeue = sorted(requeue + stranded)
    lost = db.session.scalars(select(Message.id).where(Message.status == SENDING, Message.claimed_at < lease_over)
                              .order_by(Message.id).limit(SWEEP_LIMIT)).all()
    closed = close_unconfirmed(now, SWEEP_LIMIT)
    unconfirmed = claim_due_polls(now, SWEEP_LIMIT)
    retention = now - timedelta(days=int(config["GATEWAY_EXCHANGE_RETENTION_DAYS"]))
    purged = db.session.execute(delete(GatewayExchange).where(GatewayExchange.at < retention)).rowcount
    db.session.commit()

    dispatch.send_messages(requeue)
    for mid in lost:
        dispatch.reconcile_message(mid)
    for mid in unconfirmed:
        dispatch.poll_receipt(mid)
    done = {"requeued": len(requeue), "reconcile": len(lost), "poll": len(unconfirmed), "closed": len(closed),
            "purged": purged}
    if any(done.values()):
        log.info("sweep: %s", done)
    return done
