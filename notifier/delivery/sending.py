"""Sending a batch of messages exactly once, through the gateway each one is routed to.

For each message: look again at what may have changed since its row was written (the deputy
opted out; quiet hours began), choose its gateway (notifier.gateways.registry: routes, priorities,
health), consult that gateway's cluster-wide limiter (a short wait, or back to the queue with a
countdown), claim it with a conditional UPDATE `queued -> sending` committed *before* the call
(the claim time is the database's, and every later write is fenced by it), call the gateway with
no DB session held, then record what happened. A "slow down" answer slows the limiter at once
and puts the text back uncounted; a transient failure is retried until SMS_GIVE_UP_AFTER_HOURS
after the first try. A call whose outcome is unknown (a timeout) leaves the row in `sending` and
is reconciled with that same gateway before anything is sent again. Texts routed to a connector
gateway (CMPP) are handed to its process, which claims them itself.
"""
import logging
import random
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import bindparam, column, exists, func, select, table, update

from notifier.delivery import dispatch, screening
from notifier.delivery.clock import db_now, sql_now
from notifier.delivery.models import FAILED, QUEUED, SENDING, SENT, Message
from notifier.delivery.outbox import cancel, id_in, record_events
from notifier.delivery.ratelimit import Pacer
from notifier.extensions import db
from notifier.gateways import health
from notifier.gateways.base import (
    ACCEPTED,
    CONNECTOR,
    MISCONFIGURED,
    PACED,
    PERMANENT,
    THROTTLED,
    TRANSIENT,
    Outbound,
)
from notifier.ops import counters
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
# Countdowns stay well below the broker's visibility timeout; a text told to wait longer keeps its
# queued_at in the future and the sweeper queues it when that has passed.
LONGEST_COUNTDOWN = 600

# Delivery sits below notices and does not import them; it only needs to know that a message's
# notice was cancelled (a message back from a transient failure must not be sent after that) and
# whether it is urgent (urgent notices go out in quiet hours too).
_notices = table("notices", column("id"), column("status"), column("urgent"))
_notice_cancelled = exists().where(_notices.c.id == Message.notice_id, _notices.c.status == "cancelled")
_other = table("messages", column("id"), column("gateway_id")).alias("other")


def get_gateway(name=None):
    """The adapter of gateway `name` (default: the first configured)."""
    registry = health.get_registry()
    return registry.adapter(name or registry.priority[0])


def get_limiter(name=None):
    """The one limiter of the cluster for gateway `name`: segments per second per sender, in Redis."""
    from notifier.delivery.ratelimit import SegmentRateLimiter

    config = current_app.config
    registry = health.get_registry()
    name = name or registry.priority[0]
    app = current_app._get_current_object()
    limiters = app.extensions.setdefault("sms_limiters", {})
    if name not in limiters:
        client = redis.Redis.from_url(app.config["REDIS_URL"])
        limiters[name] = SegmentRateLimiter(client, registry.rate(name), key_prefix=f"notifier:sms-rate:{name}",
                                            backoff=float(config["SMS_RATE_BACKOFF"]),
                                            recovery=float(config["SMS_RATE_RECOVERY_SECONDS"]))
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
            "skipped": skipped, "opted_out": 0, "quiet": 0, "stale": 0}


def deliver(message_ids):
    """Send the still-queued messages among `message_ids`. Returns counts by outcome.

    Every pass looks again at what may have changed since the rows were written: a deputy who
    opted out (or left) gets nothing, and a non-urgent notice's texts wait out quiet hours."""
    rows = db.session.execute(
        select(Message.id, Message.to, Message.body, Message.segments, Message.notice_id, Message.queued_at,
               Message.template_code, Message.template_params, _notices.c.urgent, Deputy.opted_out, Deputy.active)
        .outerjoin(_notices, _notices.c.id == Message.notice_id).outerjoin(Deputy, Deputy.id == Message.deputy_id)
        .where(id_in(Message.id, message_ids), Message.status == QUEUED).order_by(Message.id)
    ).all()
    summary = _summary(len(message_ids) - len(rows))
    rows = screening.skip_opted_out(rows, summary)
    rows = screening.hold_for_quiet_hours(rows, summary)
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
    pacer = Pacer(limiter, sender, max_wait=float(config["SMS_RATE_MAX_WAIT"]))

    # 1. Pace: reserve a slot per message (one round trip); those over the wait limit go back
    # with a countdown.
    taken = set(pacer.reserve_many((row.id, max(1, row.segments or 1)) for row in rows))
    reserved = [row for row in rows if row.id in taken]
    deferred = [row.id for row in rows if row.id not in taken]
    if deferred:
        summary["deferred"] = len(deferred)
        _defer(deferred, limiter, sender)

    # 2. Claim, and commit before any HTTP call: only one worker (or connector) can win a row.
    # The claim time is the database's (leases are judged by that one clock) and fences every
    # write made after the call: record_results changes a row only while it carries this claim.
    claims = {}
    if reserved:
        now = sql_now()
        claims = dict(db.session.execute(
            update(Message).where(id_in(Message.id, [r.id for r in reserved]), Message.status == QUEUED,
                                  ~_notice_cancelled)
            .values(status=SENDING, claimed_at=now, first_attempt_at=func.coalesce(Message.first_attempt_at, now),
                    attempts=Message.attempts + 1, gateway=name, sender=gateway.sender or "",
                    error_code=None, error_message=None, updated_at=now)
            .returning(Message.id, Message.claimed_at)
            .execution_options(synchronize_session=False)
        ).all())
        db.session.commit()
        if len(claims) < len(reserved):  # e.g. back from a transient failure after the notice's cancel
            cancel([r.id for r in reserved if r.id not in claims], reason="notice cancelled",
                   only_if=_notice_cancelled)
    db.session.close()  # no session (nor connection) held during the gateway calls
    work = [row for row in reserved if row.id in claims]
    summary["skipped"] += len(reserved) - len(work)
    if not work:
        return summary

    # 3. Call the gateway, concurrently, each at its reserved time; the pacer keeps the texts
    # still waiting in step when the pace changes under them.
    items = [Outbound(message_id=row.id, to=row.to, sender=gateway.sender, body=row.body,
                      template_code=row.template_code, template_params=row.template_params,
                      status_callback=status_callback_url(row.id, config)) for row in work]
    results = gateway.send_many(items, [pacer.delay(row.id) for row in work], repace=pacer, on_result=pacer.on_result)
    if not pacer.throttles and any(r.outcome == THROTTLED and r.error_code != PACED and not r.recipient_limit
                                   for r in results):
        limiter.throttled(sender)  # an adapter that does not report answers as they come: slow down now
    pacer.settle()

    # 4. Keep the gateway's health in step (first: texts put back must not find it still "up"),
    # then record. Texts the gateway asked us to slow down for come back when the (slower)
    # schedule has room for them.
    health.note_results(name, [r for r in results if r.error_code != PACED])
    throttled = [(row, r) for row, r in zip(work, results, strict=True)
                 if r.outcome == THROTTLED and r.retry_after is None]
    if throttled:
        delay = _throttled_delay(limiter, sender, sum(max(1, row.segments or 1) for row, _ in throttled))
        for _, result in throttled:
            result.retry_after = delay
    for key, n in record_results(list(zip([row.id for row in work], results, strict=True)), claims=claims).items():
        summary[key] += n
    return summary


def _throttled_delay(limiter, sender, segments):
    """Seconds until the limiter, at its (just lowered) rate, has room for `segments` more."""
    try:
        rate = limiter.effective_rate(sender)
        free_in = limiter.next_free_in(sender)
    except redis.RedisError:
        return random.uniform(1.0, 2.0)
    spread = segments / rate if rate > 0 else 0.0
    return max(0.5, free_in) + random.uniform(0, max(0.5, min(spread, float(current_app.config["SMS_RATE_MAX_WAIT"]))))


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


def give_up_reason(attempts, first_attempt_at, now, config=None):
    """Why a text that failed transiently (or was not found at the gateway) is given up, or None
    to try again. By time since its first try (SMS_GIVE_UP_AFTER_HOURS, database clock), with
    a count of calls (SMS_MAX_ATTEMPTS) as a safety net under a gateway that fails at once."""
    config = config or current_app.config
    hours = float(config["SMS_GIVE_UP_AFTER_HOURS"])
    if first_attempt_at is not None and now - first_attempt_at >= timedelta(hours=hours):
        return f"gave up after {hours:g} h of trying ({attempts} attempts)"
    if attempts >= int(config["SMS_MAX_ATTEMPTS"]):
        return f"gave up after {attempts} attempts"
    return None


def record_results(pairs, source="worker", claims=None):
    """Apply (message_id, SendResult) pairs: rows, events and gateway exchanges (those of texts
    not accepted, and SMS_EXCHANGE_SAMPLE of the others), one transaction.

    `claims` ({message_id: claimed_at}) are the claims the calls were made under: a row that no
    longer carries its claim (its lease ran out and another pass took it) is left as it is, and
    only the exchange and an event say what the late answer was. Without `claims`, a row is
    changed while it is in `sending`."""
    from notifier.delivery.models import GatewayExchange

    config = current_app.config
    now = utcnow()
    counts = {"accepted": 0, "retry": 0, "held": 0, "failed": 0, "unknown": 0, "stale": 0}
    events, exchanges, retries, reconcile, opted_out, accepted = [], [], [], [], [], []
    claims = claims or {}
    rows = {row.id: row for row in db.session.execute(
        select(Message.id, Message.attempts, Message.first_attempt_at, Message.claimed_at, Message.status,
               Message.gateway)
        .where(Message.id.in_([mid for mid, _ in pairs])))}
    clock = db_now() if any(result.outcome == TRANSIENT for _, result in pairs) else None
    sample = float(config["SMS_EXCHANGE_SAMPLE"])
    latencies = [(rows[mid].gateway or "", result.exchange["duration_ms"] / 1000) for mid, result in pairs
                 if result.exchange and result.exchange.get("duration_ms") is not None and mid in rows]
    counters.gateway_calls(latencies)  # for /metrics
    for mid, result in pairs:
        if result.exchange and (result.outcome != ACCEPTED or random.random() < sample):
            exchanges.append({"message_id": mid, "at": now, **_exchange_row(result.exchange)})
        row = rows.get(mid)
        if row is None:
            continue
        if mid in claims and row.claimed_at != claims[mid]:
            counts["stale"] += 1
            detail = f"late answer under an earlier claim, left alone: {result.outcome}"
            detail += f" {result.gateway_id}" if result.gateway_id else f" {result.error_code}"
            events.append((mid, "error", row.status, source, detail))
            continue
        if result.outcome == ACCEPTED:
            counts["accepted"] += 1
            accepted.append((mid, result))
            events.append((mid, "status", SENT, source, result.gateway_id))
            continue
        mine = _fence(mid, claims)
        reason = None
        if result.outcome == TRANSIENT:
            reason = give_up_reason(row.attempts, row.first_attempt_at, clock, config)
        if result.outcome == PERMANENT or reason:
            counts["failed"] += 1
            reason = f"{reason}: {result.error_message or ''}" if reason else (result.error_message or "")
            _fail(mine, result.error_code, reason, now)
            events.append((mid, "status", FAILED, source, f"{result.error_code}: {reason}"))
            if result.opted_out:
                opted_out.append(mid)
        elif result.outcome == TRANSIENT:
            counts["retry"] += 1
            delay = retry_delay(row.attempts or 1, config)
            if _requeue(mine, result, now, delay):
                retries.append((mid, delay))
                events.append((mid, "retry", QUEUED, source, f"{result.error_code}: {result.error_message} "
                                                              f"(again in {delay:.1f}s)"))
        elif result.outcome in (THROTTLED, MISCONFIGURED):
            # Not the text's fault and not a try: it waits (a slower pace, or another gateway).
            counts["held"] += 1
            delay = result.retry_after or random.uniform(1.0, 2.0)
            if _requeue(mine, result, now, delay, counted=False):
                retries.append((mid, delay))
                events.append((mid, "held", QUEUED, source, f"{result.outcome}: {result.error_code}: "
                                                             f"{result.error_message}"))
        else:  # unknown: the gateway may have it; stay in `sending` and reconcile before resending
            counts["unknown"] += 1
            if db.session.execute(update(Message).where(mine, Message.status == SENDING)
                                  .values(error_code=result.error_code or "unknown",
                                          error_message=result.error_message, updated_at=now)).rowcount:
                reconcile.append(mid)
                events.append((mid, "error", SENDING, source,
                               f"{result.error_code}: {result.error_message}; reconciling"))
    _mark_sent(accepted, claims, now)
    if exchanges:
        db.session.execute(db.insert(GatewayExchange), exchanges)
    if opted_out:
        _mark_opted_out(opted_out, now)
    record_events(events)
    db.session.commit()
    # Texts held back together (throttled in one batch) go back as one task, paced again there.
    by_delay = {}
    for mid, delay in retries:
        by_delay.setdefault(delay, []).append(mid)
    for delay, ids in by_delay.items():
        if delay > LONGEST_COUNTDOWN:
            continue  # hours away (a daily limit): the sweeper queues them once queued_at has passed
        dispatch.send_messages(ids, countdown=delay)
    for mid in reconcile:
        dispatch.reconcile_message(mid, countdown=float(config["SMS_RECONCILE_DELAY_SECONDS"]))
    return counts


def _mark_sent(accepted, claims, now):
    """The gateway took these texts ([(message_id, result)]): each row `sent` with the gateway's
    id, while it is `sending` under the claim its call was made with and no other row has that
    id. The texts sent under a claim go in one executemany of one statement (compiled once,
    pipelined by the driver); the others, and any a callback or reconcile got to first, one by one."""
    batch, one_by_one, ids = [], [], set()
    for mid, result in sorted(accepted, key=lambda pair: pair[0]):  # rows locked in id order
        fits = mid in claims and result.gateway_id and result.gateway_id not in ids
        (batch if fits else one_by_one).append((mid, result))
        ids.add(result.gateway_id)
    late = []
    if batch:
        moved = db.session.execute(_SENT_UNDER_CLAIM, [
            {"mid": mid, "claim": claims[mid], "gid": result.gateway_id, "gst": result.gateway_status, "now": now}
            for mid, result in batch]).rowcount
        if moved != len(batch):
            found = dict(db.session.execute(select(Message.id, Message.gateway_id)
                                            .where(Message.id.in_([mid for mid, _ in batch]))).all())
            late = [(mid, result) for mid, result in batch if found.get(mid) != result.gateway_id]
    for mid, result in one_by_one:
        mine, unowned = _fence(mid, claims), _unowned(result.gateway_id, mid)
        if not db.session.execute(
                update(Message).where(mine, Message.status == SENDING, unowned)
                .values(status=SENT, gateway_id=result.gateway_id, gateway_status=result.gateway_status,
                        sent_at=now, error_code=None, error_message=None, updated_at=now)).rowcount:
            late.append((mid, result))
    for mid, result in late:  # a callback or a reconcile got there first: keep its status, add the id
        db.session.execute(update(Message).where(_fence(mid, claims), Message.gateway_id.is_(None),
                                                 _unowned(result.gateway_id, mid))
                           .values(gateway_id=result.gateway_id, updated_at=now))


_messages = Message.__table__
# Core, not ORM: a list of parameters makes it one executemany (an ORM update would be a bulk
# update by primary key, without the claim and the other row in its WHERE).
_SENT_UNDER_CLAIM = (
    update(_messages)
    .where(_messages.c.id == bindparam("mid"), _messages.c.claimed_at == bindparam("claim"),
           _messages.c.status == SENDING,
           ~exists().where(_other.c.gateway_id == bindparam("gid"), _other.c.id != bindparam("mid")))
    .values(status=SENT, gateway_id=bindparam("gid"), gateway_status=bindparam("gst"), sent_at=bindparam("now"),
            error_code=None, error_message=None, updated_at=bindparam("now"))
)


def _unowned(gateway_id, mid):
    """No other row carries this gateway id (ids are unique where set)."""
    return ~exists().where(_other.c.gateway_id == gateway_id, _other.c.id != mid)


def _fence(mid, claims):
    """The row `mid`, while it still carries the claim the result belongs to."""
    if mid in claims:
        return (Message.id == mid) & (Message.claimed_at == claims[mid])
    return Message.id == mid


def _requeue(mine, result, now, delay, counted=True):
    """Back to `queued` for another try in `delay` seconds, free for any gateway. Returns True
    when the row was still ours to move."""
    return db.session.execute(
        update(Message).where(mine, Message.status == SENDING)
        .values(status=QUEUED, queued_at=now + timedelta(seconds=delay), gateway=None,
                attempts=Message.attempts if counted else Message.attempts - 1,
                error_code=result.error_code, error_message=result.error_message, updated_at=now)).rowcount == 1


def _fail(mine, code, reason, now):
    db.session.execute(update(Message).where(mine, Message.status == SENDING)
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
