"""Counters every process adds to and the /metrics page reads: kept in Redis, so the numbers of
all web and worker processes on every machine add up (prometheus-client's own counters live in
one process). Writing a counter never fails the work it counts."""
import logging

import redis
from flask import current_app, has_app_context

log = logging.getLogger(__name__)
PREFIX = "notifier:metrics:"
# Gateway call latency buckets (seconds), as Prometheus histograms count them: cumulative.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_clients = {}


def _client():
    if not has_app_context():
        return None
    url = current_app.config["REDIS_URL"]
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _clients[url]


def _safely(write):
    client = _client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        write(pipe)
        pipe.execute()
    except redis.RedisError as exc:  # the text is sent all the same; the metric misses one
        log.warning("metrics counter not written: %s", exc)


def gateway_calls(calls):
    """[(gateway, seconds)] of the calls a batch made: summed here, then one round trip."""
    totals = {}  # gateway -> {field: count}, and the sum of seconds
    for gateway, seconds in calls:
        fields = totals.setdefault(gateway, {"count": 0, "sum": 0.0})
        fields["count"] += 1
        fields["sum"] += float(seconds)
        for bound in LATENCY_BUCKETS:
            if seconds <= bound:
                fields[f"le:{bound}"] = fields.get(f"le:{bound}", 0) + 1

    def write(pipe):
        for gateway, fields in totals.items():
            key = f"{PREFIX}gateway_call:{gateway}"
            for field, value in fields.items():
                if field == "sum":
                    pipe.hincrbyfloat(key, field, value)
                else:
                    pipe.hincrby(key, field, value)

    if calls:
        _safely(write)


def limiter_wait(sender, seconds, count=1):
    """`count` sends of `sender` that waited `seconds` in all for their slots."""
    def write(pipe):
        key = f"{PREFIX}limiter_wait:{sender}"
        pipe.hincrby(key, "count", int(count))
        pipe.hincrbyfloat(key, "sum", float(seconds))

    if count:
        _safely(write)


def webhook(kind, outcome):
    _safely(lambda pipe: pipe.hincrby(f"{PREFIX}webhooks", f"{kind}:{outcome}", 1))


def checked_webhook(kind, check):
    """Run the webhook's signature check, counting it accepted or refused (the check raises 403)."""
    try:
        check()
    except Exception:
        webhook(kind, "refused")
        raise
    webhook(kind, "accepted")


def read(client):
    """Everything counted: {"gateway_call": {gw: {...}}, "limiter_wait": {sender: {...}}, "webhooks": {...}}."""
    found = {"gateway_call": {}, "limiter_wait": {}, "webhooks": {}}
    for key in client.scan_iter(match=f"{PREFIX}*", count=500):
        name = key.decode()[len(PREFIX):]
        values = {k.decode(): float(v) for k, v in client.hgetall(key).items()}
        if name == "webhooks":
            found["webhooks"] = values
        else:
            kind, _, label = name.partition(":")
            if kind in found:
                found[kind][label] = values
    return found
