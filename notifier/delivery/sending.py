"""Sending a batch of messages exactly once.

For each message: consult the cluster-wide limiter (a short wait, or back to the queue with a
countdown), claim it with a conditional UPDATE `queued -> sending` committed *before* the HTTP
call, call the gateway with no DB session held, then record what happened. A call whose outcome
is unknown (a timeout) leaves the row in `sending` and is reconciled with the gateway before
anything is sent again.
"""
import logging
import random
import time
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import column, exists, select, table, update

from notifier.delivery import dispatch
from notifier.delivery.gateway import ACCEPTED, PERMANENT, TRANSIENT, Outbound, gateway_for
from notifier.delivery.models import FAILED, QUEUED, SENDING, SENT, Message
from notifier.delivery.outbox import cancel, id_in, record_events
from notifier.extensions import db
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)

# Delivery sits below notices and does not import them; it only needs to know that a message's
# notice was cancelled (a message back from a transient failure must not be sent after that).
_notices = table("notices", column("id"), column("status"))
_notice_cancelled = exists().where(_notices.c.id == Message.notice_id, _notices.c.status == "cancelled")


def get_gateway():
    app = current_app._get_current_object()
    gateway = app.extensions.get("sms_gateway")
    if gateway is None:
        gateway = app.extensions["sms_gateway"] = gateway_for(app.config)
    return gateway


def get_limiter():
    """The one limiter of the cluster: segments per second per sender, in Redis."""
    from notifier.delivery.ratelimit import SegmentRateLimiter

    app = current_app._get_current_object()
    limiter = app.extensions.get("sms_limiter")
    if limiter is None:
        client = redis.Redis.from_url(app.config["REDIS_URL"])
        limiter = SegmentRateLimiter(client, float(app.config["SMS_RATE_LIMIT"]), key_prefix="notifier:sms-rate")
        app.extensions["sms_limiter"] = limiter
    return limiter


def status_callback_url(message_id, config=None):
    """Twilio posts status changes here; the id is in the URL because a callback can arrive
    before the create call has returned the gateway's id."""
    config = config or current_app.config
    return f"{config['PUBLIC_BASE_URL'].rstrip('/')}/webhooks/twilio/status?message_id={message_id}"


def retry_delay(attempts, config=None):
    """Exponential backoff with jitter: base * 2^(attempts-1), capped, then between half and all of it."""
    config = config or current_app.config
    delay = min(float(config["SMS_RETRY_MAX_SECONDS"]), float(config["SMS_RETRY_BASE_SECONDS"]) * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def deliver(message_ids, gateway=None, limiter=None):
    """Send the still-queued messages among `message_ids`. Returns counts by outcome."""
    config = current_app.config
    gateway = gateway or get_gateway()
    limiter = limiter or get_limiter()
    rows = db.session.execute(
        select(Message.id, Message.to, Message.body, Message.segments, Message.sender)
        .where(id_in(Message.id, message_ids), Message.status == QUEUED).order_by(Message.id)
    ).all()
    db.session.commit()
    summary = {"accepted": 0, "retry": 0, "failed": 0, "unknown": 0, "deferred": 0, "skipped": len(message_ids) - len(rows)}
    if not rows:
        return summary

    # 1. Pace: reserve a slot per message; those over the wait limit go back with a countdown.
    reserved, deferred, full = [], [], {}
    for row in rows:
        sender = row.sender or "default"
        if sender in full:
            deferred.append(row.id)
            continue
        wait = limiter.reserve(sender, max(1, row.segments or 1), max_wait=float(config["SMS_RATE_MAX_WAIT"]))
        if wait is None:
            full[sender] = True
            deferred.append(row.id)
        else:
            reserved.append((row, time.monotonic() + wait))
    if deferred:
        summary["deferred"] = len(deferred)
        _defer(deferred, limiter, full)

    # 2. Claim, and commit before any HTTP call: only one worker can win a row.
    now = utcnow()
    claimed = set()
    if reserved:
        claimed = set(db.session.scalars(
            update(Message).where(id_in(Message.id, [r.id for r, _ in reserved]), Message.status == QUEUED,
                                  ~_notice_cancelled)
            .values(status=SENDING, claimed_at=now, attempts=Message.attempts + 1, updated_at=now)
            .returning(Message.id)
        ).all())
        db.session.commit()
        if len(claimed) < len(reserved):  # e.g. back from a transient failure after the notice's cancel
            cancel([r.id for r, _ in reserved if r.id not in claimed], reason="notice cancelled",
                   only_if=_notice_cancelled)
    db.session.close()  # no session (nor connection) held during the gateway calls
    work = [(row, due) for row, due in reserved if row.id in claimed]
    summary["skipped"] += len(reserved) - len(work)
    if not work:
        return summary

    # 3. Call the gateway, concurrently, each at its reserved time.
    items = [Outbound(message_id=row.id, to=row.to, sender=row.sender, body=row.body,
                      status_callback=status_callback_url(row.id, config)) for row, _ in work]
    segments = {row.id: max(1, row.segments or 1) for row, _ in work}

    def repace(item):  # woke late (a stall): a fresh slot, not a burst with the others
        wait = limiter.reserve(item.sender or "default", segments[item.message_id], max_wait=3600)
        return wait or 0.0

    start = time.monotonic()
    results = gateway.send_many(items, [max(0.0, due - start) for _, due in work], repace=repace)

    # 4. Record.
    for key, n in record_results(list(zip([row.id for row, _ in work], results, strict=True))).items():
        summary[key] += n
    return summary


def _defer(ids, limiter, full):
    """Back to the queue after the limiter frees up (plus jitter, so deferred batches spread out)."""
    config = current_app.config
    max_wait = float(config["SMS_RATE_MAX_WAIT"])
    try:
        free_in = max(limiter.next_free_in(sender) for sender in full) if full else max_wait
    except Exception:  # noqa: BLE001
        free_in = max_wait
    countdown = max(0.5, free_in - max_wait) + random.uniform(0, max_wait)
    now = utcnow()
    db.session.execute(update(Message).where(Message.id.in_(ids), Message.status == QUEUED)
                       .values(queued_at=now + timedelta(seconds=countdown)))
    db.session.commit()
    dispatch.send_messages(ids, countdown=countdown)


def record_results(pairs, source="worker"):
    """Apply (message_id, SendResult) pairs: rows, events and gateway exchanges, one transaction."""
    from notifier.delivery.models import GatewayExchange

    config = current_app.config
    max_attempts = int(config["SMS_MAX_ATTEMPTS"])
    now = utcnow()
    counts = {"accepted": 0, "retry": 0, "failed": 0, "unknown": 0}
    events, exchanges, retries, reconcile, opted_out = [], [], [], [], []
    attempts = dict(db.session.execute(
        select(Message.id, Message.attempts).where(Message.id.in_([mid for mid, _ in pairs]))).all())
    for mid, result in pairs:
        if result.exchange:
            exchanges.append({"message_id": mid, "at": now, **_exchange_row(result.exchange)})
        if result.outcome == ACCEPTED:
            counts["accepted"] += 1
            moved = db.session.execute(
                update(Message).where(Message.id == mid, Message.status == SENDING)
                .values(status=SENT, gateway_id=result.gateway_id, gateway_status=result.gateway_status,
                        sent_at=now, error_code=None, error_message=None, updated_at=now)).rowcount
            if not moved:  # a callback or a reconcile got there first: keep its status, add the id
                db.session.execute(update(Message).where(Message.id == mid, Message.gateway_id.is_(None))
                                   .values(gateway_id=result.gateway_id, updated_at=now))
            events.append((mid, "status", SENT, source, result.gateway_id))
        elif result.outcome == PERMANENT or (result.outcome == TRANSIENT and attempts.get(mid, 0) >= max_attempts):
            counts["failed"] += 1
            reason = result.error_message or ""
            if result.outcome == TRANSIENT:
                reason = f"gave up after {attempts.get(mid, 0)} attempts: {reason}"
            _fail(mid, result.error_code, reason, now)
            events.append((mid, "status", FAILED, source, f"{result.error_code}: {reason}"))
            if result.opted_out:
                opted_out.append(mid)
        elif result.outcome == TRANSIENT:
            counts["retry"] += 1
            delay = retry_delay(attempts.get(mid, 1), config)
            moved = db.session.execute(
                update(Message).where(Message.id == mid, Message.status == SENDING)
                .values(status=QUEUED, queued_at=now + timedelta(seconds=delay), error_code=result.error_code,
                        error_message=result.error_message, updated_at=now)).rowcount
            if moved:
                retries.append((mid, delay))
                events.append((mid, "retry", QUEUED, source, f"{result.error_code}: {result.error_message} "
                                                              f"(again in {delay:.1f}s)"))
        else:  # unknown: the gateway may have it; stay in `sending` and reconcile before resending
            counts["unknown"] += 1
            db.session.execute(update(Message).where(Message.id == mid, Message.status == SENDING)
                               .values(error_code=result.error_code, error_message=result.error_message, updated_at=now))
            reconcile.append(mid)
            events.append((mid, "error", SENDING, source, f"{result.error_code}: {result.error_message}; reconciling"))
    if exchanges:
        db.session.execute(db.insert(GatewayExchange), exchanges)
    if opted_out:
        _mark_opted_out(opted_out, now)
    record_events(events)
    db.session.commit()
    for mid, delay in retries:
        dispatch.send_messages([mid], countdown=delay)
    for mid in reconcile:
        dispatch.reconcile_message(mid, countdown=float(config["SMS_RECONCILE_DELAY_SECONDS"]))
    return counts


def _fail(mid, code, reason, now):
    db.session.execute(update(Message).where(Message.id == mid, Message.status == SENDING)
                       .values(status=FAILED, failed_at=now, error_code=code, error_message=(reason or "")[:500],
                               updated_at=now))


def _mark_opted_out(message_ids, now):
    """Twilio 21610: the number has replied STOP; the roster must know."""
    deputy_ids = db.session.scalars(select(Message.deputy_id).where(Message.id.in_(message_ids),
                                                                    Message.deputy_id.is_not(None))).all()
    if deputy_ids:
        db.session.execute(update(Deputy).where(Deputy.id.in_(deputy_ids), Deputy.opted_out.is_(False))
                           .values(opted_out=True, opted_out_at=now, opted_out_via="gateway:21610", updated_at=now))


def _exchange_row(exchange):
    return {
        "method": exchange.get("method", "POST"),
        "url": (exchange.get("url") or "")[:500],
        "request": exchange.get("request"),
        "response_status": exchange.get("response_status"),
        "response_body": exchange.get("response_body"),
        "duration_ms": exchange.get("duration_ms"),
        "error": (exchange.get("error") or None) and exchange["error"][:500],
    }
