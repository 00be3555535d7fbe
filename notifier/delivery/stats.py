"""The numbers operators watch: queue depths, messages by status, the limiter's rate."""
import redis
from flask import current_app
from sqlalchemy import func, select

from notifier.delivery.dispatch import QUEUES
from notifier.delivery.models import STATUSES, Message
from notifier.extensions import db


def queue_depths(client):
    """Tasks waiting in each queue (Kombu keeps a Redis list per queue; ETA'd and in-progress
    tasks sit in the `unacked` hash until acknowledged)."""
    depths = {name: client.llen(name) for name in QUEUES}
    depths["unacked"] = client.hlen("unacked")
    return depths


def delivery_status():
    config = current_app.config
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all()))
    client = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=5)
    data = {"messages": counts, "total": sum(counts.values())}
    try:
        data["queues"] = queue_depths(client)
    except redis.RedisError as exc:
        data["queues"] = {"error": str(exc)}
    from notifier.delivery.sending import get_limiter
    from notifier.gateways.health import get_registry

    registry = get_registry()
    limiter = {"limit": float(config["SMS_RATE_LIMIT"]), "unit": "segments/s", "senders": {}, "gateways": {}}
    try:
        for name in registry.names:
            rate_limiter, sender = get_limiter(name), registry.adapter(name).sender or "default"
            numbers = {"limit": registry.rate(name), "sender": sender,
                       # what the gateway's "slow down" answers have taught the limiter (<= limit)
                       "effective_rate": rate_limiter.effective_rate(sender),
                       "measured_rate": rate_limiter.measured_rate(sender),
                       "next_free_in": rate_limiter.next_free_in(sender)}
            limiter["gateways"][name] = numbers
            limiter["senders"][sender] = {k: numbers[k] for k in ("measured_rate", "next_free_in")}
    except Exception as exc:  # noqa: BLE001  (the numbers must show even when Redis is down)
        limiter["error"] = str(exc)
    data["limiter"] = limiter
    db.session.commit()
    return data
