"""Sending a batch of messages exactly once, through the gateway each one is routed to.

For each message: choose its gateway (notifier.gateways.registry: routes, priorities, health),
consult that gateway's cluster-wide limiter (a short wait, or back to the queue with a
countdown), claim it with a conditional UPDATE `queued -> sending` committed *before* the call,
call the gateway with no DB session held, then record what happened. A call whose outcome is
unknown (a timeout) leaves the row in `sending` and is reconciled with that same gateway before
anything is sent again. Texts routed to a connector gateway (CMPP) are handed to its process,
which claims them itself.
"""
import logging
import random
import time
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import column, exists, select, table, update

from notifier.delivery import dispatch
from notifier.delivery.models import FAILED, QUEUED, SENDING, SENT, Message
from notifier.delivery.outbox import cancel, id_in, record_events
from notifier.extensions import db
from notifier.gateways import health
from notifier.gateways.base import (
    ACCEPTED,
    CONNECTOR,
    MISCONFIGURED,
    PERMANENT,
    THROTTLED,
    TRANSIENT,
    Outbound,
)
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)

# Delivery sits below notices and does not import them; it only needs to know that a message's
# notice was cancelled (a message back from a transient failure must not be sent after that).
_notices = table("notices", column("id"), column("status"))
_notice_cancelled = exists().where(_notices.c.id == Message.notice_id, _notices.c.status == "cancelled")


def get_gateway(name=None):
    """The adapter of gateway `name` (default: the first configured)."""
    registry = health.get_registry()
    return registry.adapter(name or registry.priority[0])


def get_limiter(name=None):
    """The one limiter of the cluster for gateway `name`: segments per second per sender, in Redis."""
    from notifier.delivery.ratelimit import SegmentRateLimiter

    registry = health.get_registry()
    name = name or registry.priority[0]
    app = current_app._get_current_object()
    limiters = app.extensions.setdefault("sms_limiters", {})
    if name not in limiters:
        client = redis.Redis.from_url(app.config["REDIS_URL"])
        limiters[name] = SegmentRateLimiter(client, registry.rate(name), key_prefix=f"notifier:sms-rate:{name}")
    return limiters[name]


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


def _summary(skipped=0):
    return {"accepted": 0, "retry": 0, "failed": 0, "unknown": 0, "deferred": 0, "held": 0, "handed_off": 0,
            "skipped": skipped}


def deliver(message_ids):
    """Send the still-queued messages among `message_ids`. Returns counts by outcome."""
    rows = db.session.execute(
        select(Message.id, Message.to, Message.body, Message.segments)
        .where(id_in(Message.id, message_ids), Message.status == QUEUED).order_by(Message.id)
    ).all()
    summary = _summary(len(message_ids) - len(rows))
    if not rows:
        db.session.commit()
        return summary
    registry = health.get_registry()
    states = health.views(registry)
    db.session.commit()
    routed, held = {}, []
    for row in rows:
        name = registry.choose(row.to, states)
        (held if name is None else routed.setdefault(name, [])).append(row)
    if held:  # no gateway may carry them now: they wait, queued, and are tried again
        summary["held"] = len(held)
        _hold([row.id for row in held])
    for name, group in routed.items():
        adapter = registry.adapter(name)
        if adapter.kind == CONNECTOR:
            summary["handed_off"] += hand_off([row.id for row in group], name)
            continue
        for key, n in _send_through(name, adapter, group).items():
            summary[key] += n
    return summary


def hand_off(ids, name):
    """Give queued texts to a connector gateway's process, which claims them itself."""
    moved = db.session.scalars(
        update(Message).where(id_in(Message.id, ids), Message.status == QUEUED)
        .values(gateway=name, queued_at=utcnow()).returning(Message.id)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    if moved:
        try:
            health.redis_client().publish(f"notifier:gateway:{name}:wake", len(moved))
        except redis.RedisError:  # the connector also looks on its own every second
            pass
    return len(moved)


def _hold(ids):
    """No gateway is available for these: back to the queue after GATEWAY_HOLD_SECONDS."""
    countdown = float(current_app.config["GATEWAY_HOLD_SECONDS"]) * random.uniform(1, 1.2)
    db.session.execute(update(Message).where(id_in(Message.id, ids), Message.status == QUEUED)
                       .values(gateway=None, queued_at=utcnow() + timedelta(seconds=countdown))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    dispatch.send_messages(ids, countdown=countdown)


def _send_through(name, gateway, rows):
    config = current_app.config
    limiter = get_limiter(name)
    sender = gateway.sender or "default"
    summary = _summary()

    # 1. Pace: reserve a slot per message; those over the wait limit go back with a countdown.
    reserved, deferred, full = [], [], False
    for row in rows:
        wait = None if full else limiter.reserve(sender, max(1, row.segments or 1),
                                                 max_wait=float(config["SMS_RATE_MAX_WAIT"]))
        if wait is None:
            full = True
            deferred.append(row.id)
        else:
            reserved.append((row, time.monotonic() + wait))
    if deferred:
        summary["deferred"] = len(deferred)
        _defer(deferred, limiter, sender)

    # 2. Claim, and commit before any HTTP call: only one worker (or connector) can win a row.
    now = utcnow()
    claimed = set()
    if reserved:
        claimed = set(db.session.scalars(
            update(Message).where(id_in(Message.id, [r.id for r, _ in reserved]), Message.status == QUEUED,
                                  ~_notice_cancelled)
            .values(status=SENDING, claimed_at=now, attempts=Message.attempts + 1, gateway=name,
                    sender=gateway.sender or "", updated_at=now)
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
    items = [Outbound(message_id=row.id, to=row.to, sender=gateway.sender, body=row.body,
                      status_callback=status_callback_url(row.id, config)) for row, _ in work]
    segments = {row.id: max(1, row.segments or 1) for row, _ in work}

    def repace(item):  # woke late (a stall): a fresh slot, not a burst with the others
        wait = limiter.reserve(sender, segments[item.message_id], max_wait=3600)
        return wait or 0.0

    start = time.monotonic()
    results = gateway.send_many(items, [max(0.0, due - start) for _, due in work], repace=repace)

    # 4. Keep the gateway's health in step (first: texts put back must not find it still "up"),
    # then record.
    health.note_results(name, results)
    for key, n in record_results(list(zip([row.id for row, _ in work], results, strict=True))).items():
        summary[key] += n
    return summary


def _defer(ids, limiter, sender):
    """Back to the queue after the limiter frees up (plus jitter, so deferred batches spread out)."""
    config = current_app.config
    max_wait = float(config["SMS_RATE_MAX_WAIT"])
    try:
        free_in = limiter.next_free_in(sender)
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
    counts = {"accepted": 0, "retry": 0, "held": 0, "failed": 0, "unknown": 0}
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
            if _requeue(mid, result, now, delay):
                retries.append((mid, delay))
                events.append((mid, "retry", QUEUED, source, f"{result.error_code}: {result.error_message} "
                                                              f"(again in {delay:.1f}s)"))
        elif result.outcome in (THROTTLED, MISCONFIGURED):
            # Not the text's fault and not a try: it waits (a slower pace, or another gateway).
            counts["held"] += 1
            delay = result.retry_after or random.uniform(1.0, 2.0)
            if _requeue(mid, result, now, delay, counted=False):
                retries.append((mid, delay))
                events.append((mid, "held", QUEUED, source, f"{result.outcome}: {result.error_code}: "
                                                             f"{result.error_message}"))
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


def _requeue(mid, result, now, delay, counted=True):
    """Back to `queued` for another try in `delay` seconds, free for any gateway. Returns True
    when the row was still ours to move."""
    return db.session.execute(
        update(Message).where(Message.id == mid, Message.status == SENDING)
        .values(status=QUEUED, queued_at=now + timedelta(seconds=delay), gateway=None,
                attempts=Message.attempts if counted else Message.attempts - 1,
                error_code=result.error_code, error_message=result.error_message, updated_at=now)).rowcount == 1


def _fail(mid, code, reason, now):
    db.session.execute(update(Message).where(Message.id == mid, Message.status == SENDING)
                       .values(status=FAILED, failed_at=now, error_code=code, error_message=(reason or "")[:500],
                               updated_at=now))


def _mark_opted_out(message_ids, now):
    """The gateway says the recipient opted out (Twilio 21610: replied STOP): the roster must know."""
    deputy_ids = db.session.scalars(select(Message.deputy_id).where(Message.id.in_(message_ids),
                                                                    Message.deputy_id.is_not(None))).all()
    if deputy_ids:
        db.session.execute(update(Deputy).where(Deputy.id.in_(deputy_ids), Deputy.opted_out.is_(False))
                           .values(opted_out=True, opted_out_at=now, opted_out_via="gateway", updated_at=now))


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
