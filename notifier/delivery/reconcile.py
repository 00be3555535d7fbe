"""Finding what the broker lost and what the gateway knows.

- `reconcile(message_id)`: a message left in `sending` (its call timed out, or its worker died) is
  looked up at the gateway (Messages list by To, every page, matched on body and on the time of
  its claim): adopted when the gateway has it, queued again when it does not. Nothing is resent
  before that, and nothing is written onto a claim other than the one settled.
- `sweep()`: the periodic job. Queues again messages `queued` but not moving (a flushed or
  restarted Redis) and `pending` ones left unqueued, reconciles `sending` rows past their lease,
  polls receipts of `sent` rows left without one (each once per interval, see receipts.py),
  closes those past the receipt deadline, and purges old gateway exchanges.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from notifier.delivery import dispatch
from notifier.delivery.clock import db_now
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
from notifier.delivery.sending import get_gateway, give_up_reason
from notifier.extensions import db
from notifier.gateways.base import CONNECTOR, RemoteMessage
from notifier.gateways.health import get_registry, probe_due, views
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
SWEEP_LIMIT = 5000


def reconcile(message_id, gateway=None, source="reconcile"):
    """Settle a message in `sending`. Returns "adopted", "requeued", "failed" or "nothing".

    Only a claim that is over is settled: its call ended without an answer (error_code set after
    the call), or its lease ran out (by the database's clock). A claim whose call may still be in
    flight is left alone: asking the gateway now could miss the text and send it twice. Every
    write is fenced by the claim it settles."""
    config = current_app.config
    lease = timedelta(seconds=float(config["SMS_SEND_LEASE_SECONDS"]))
    message = db.session.get(Message, message_id)
    if message is None or message.status != SENDING or message.claimed_at is None:
        db.session.rollback()
        return "nothing"
    if message.error_code is None and message.claimed_at > db_now() - lease:
        db.session.rollback()
        return "nothing"  # the call may still be under way; its own answer (or the lease) comes back here
    gateway = gateway or get_gateway(message.gateway)
    to, body, claimed_at = message.to, message.body, message.claimed_at
    known_id = message.gateway_id
    db.session.commit()
    db.session.close()  # no session held while asking the gateway

    if known_id:  # a callback told us its id already
        found = [gateway.fetch(known_id) or RemoteMessage(known_id, to, body, "sent", None)]
    else:
        # None: this gateway cannot be asked (a CMPP session whose answer was lost): what the
        # gateway never answered for is sent again.
        since, until = reconcile_window(claimed_at, lease)
        found = gateway.find_sent(to, body, since, until, message_id=message_id) or []
        if found:
            owned = set(db.session.scalars(select(Message.gateway_id).where(
                Message.gateway_id.in_([m.gateway_id for m in found]))))
            found = [m for m in found if m.gateway_id not in owned]

    mine = (Message.id == message_id) & (Message.status == SENDING) & (Message.claimed_at == claimed_at)
    now = utcnow()
    if found:
        remote = found[0]
        if not db.session.execute(update(Message).where(mine).values(
                gateway_id=func.coalesce(Message.gateway_id, remote.gateway_id), status=SENT,
                sent_at=func.coalesce(Message.sent_at, now), error_code=None, error_message=None,
                updated_at=now).execution_options(synchronize_session=False)).rowcount:
            db.session.rollback()
            return "nothing"  # someone else settled it meanwhile
        detail = f"adopted {remote.gateway_id} ({remote.status})"
        if len(found) > 1:
            detail += f"; the gateway holds {len(found)} matching texts"
        record_event(message_id, "reconcile", SENT, source, detail)
        message = db.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
        apply_gateway_status(message, remote.gateway_id, remote.status, remote.error_code, remote.error_message,
                             source=source)
        db.session.commit()
        return "adopted"
    row = db.session.execute(select(Message.attempts, Message.first_attempt_at, Message.error_message)
                             .where(mine)).first()
    if row is None:
        db.session.rollback()
        return "nothing"
    reason = give_up_reason(row.attempts, row.first_attempt_at, db_now(), config)
    if reason:
        detail = f"{reason}: {row.error_message or 'no answer'}"
        db.session.execute(update(Message).where(mine).values(status=FAILED, failed_at=now, error_message=detail[:500],
                                                              updated_at=now))
        record_event(message_id, "reconcile", FAILED, source, detail)
        db.session.commit()
        return "failed"
    db.session.execute(update(Message).where(mine).values(status=QUEUED, queued_at=now, gateway=None, updated_at=now))
    record_event(message_id, "reconcile", QUEUED, source, "not at the gateway: sending again")
    db.session.commit()
    dispatch.send_messages([message_id])
    return "requeued"


def reconcile_window(claimed_at, lease, slack_seconds=60):
    """Where a claim's text can be at the gateway: created from its claim to the end of its lease
    (a call made later belongs to a worker that lost the claim, and its answer is fenced off),
    widened by `slack_seconds` each side for the gateway's clock against the database's."""
    slack = timedelta(seconds=slack_seconds)
    return claimed_at - slack, claimed_at + lease + slack


def sweep(now=None):
    """One pass of the periodic sweeper. Returns what it did, by kind."""
    config = current_app.config
    now = now or utcnow()
    stale_queued = now - timedelta(seconds=float(config["SMS_REQUEUE_AFTER_SECONDS"]))
    # Claim times are the database's: so is the end of their lease.
    lease_over = db_now() - timedelta(seconds=float(config["SMS_SEND_LEASE_SECONDS"]))

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
    taken_back, connectors_up = _take_back_from_connectors(now)
    # A connector that holds its session settles its own texts in `sending`.
    lost = db.session.scalars(select(Message.id).where(
        Message.status == SENDING, Message.claimed_at < lease_over,
        or_(Message.gateway.is_(None), Message.gateway.not_in(connectors_up)))
        .order_by(Message.id).limit(SWEEP_LIMIT)).all()
    closed = close_unconfirmed(now, SWEEP_LIMIT)
    unconfirmed = claim_due_polls(now, SWEEP_LIMIT)
    retention = now - timedelta(days=int(config["GATEWAY_EXCHANGE_RETENTION_DAYS"]))
    purged = db.session.execute(delete(GatewayExchange).where(GatewayExchange.at < retention)).rowcount
    db.session.commit()

    dispatch.send_messages(requeue + taken_back)
    recovered = probe_due()
    for mid in lost:
        dispatch.reconcile_message(mid)
    for mid in unconfirmed:
        dispatch.poll_receipt(mid)
    done = {"requeued": len(requeue), "reconcile": len(lost), "poll": len(unconfirmed), "closed": len(closed),
            "purged": purged, "taken_back": len(taken_back), "gateways_recovered": len(recovered)}
    if any(done.values()):
        log.info("sweep: %s", done)
    return done


def _take_back_from_connectors(now):
    """Texts waiting for a connector gateway that is not available (its process gone, paused,
    not up) go back to the workers, which route them afresh. Returns (ids, names of the
    connectors that are up)."""
    registry = get_registry()
    taken, up = [], []
    for name, view in views(registry).items():
        if registry.adapter(name).kind != CONNECTOR:
            continue
        if view.available:
            up.append(name)
            continue
        taken += db.session.scalars(
            update(Message).where(Message.id.in_(
                select(Message.id).where(Message.status == QUEUED, Message.gateway == name)
                .order_by(Message.id).limit(SWEEP_LIMIT).scalar_subquery()))
            .values(gateway=None, queued_at=now).returning(Message.id)).all()
    record_events([(mid, "sweep", QUEUED, "sweeper", "its gateway is not available: routed again") for mid in taken])
    return sorted(taken), up
