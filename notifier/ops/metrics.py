"""GET /metrics in Prometheus text: read at scrape time from the database (texts by status and
gateway) and Redis (queue depths, and the counters of every process: gateway call latency,
limiter waits, webhooks). A registry of its own, so nothing per-process leaks in."""
import redis
from flask import current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.ops import counters


class PlatformCollector:
    def collect(self):
        from notifier.delivery.models import Message
        from notifier.delivery.stats import queue_depths

        texts = GaugeMetricFamily("notifier_texts", "Text messages by status and gateway", labels=["status", "gateway"])
        rows = db.session.execute(select(Message.status, Message.gateway, func.count()).group_by(
            Message.status, Message.gateway)).all()
        for status, gateway, count in rows:
            texts.add_metric([status, gateway or ""], count)
        yield texts

        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2)
        depth = GaugeMetricFamily("notifier_queue_depth", "Tasks waiting per Celery queue", labels=["queue"])
        for queue, count in queue_depths(client).items():
            depth.add_metric([queue], count)
        yield depth

        counted = counters.read(client)
        latency = HistogramMetricFamily("notifier_gateway_call_seconds", "Gateway API call latency",
                                        labels=["gateway"])
        for gateway, values in sorted(counted["gateway_call"].items()):
            buckets = [(str(b), values.get(f"le:{b}", 0)) for b in counters.LATENCY_BUCKETS]
            buckets.append(("+Inf", values.get("count", 0)))
            latency.add_metric([gateway], buckets, values.get("sum", 0.0))
        yield latency

        waits = CounterMetricFamily("notifier_limiter_waits", "Sends that waited for the shared rate limiter",
                                    labels=["sender"])
        waited = CounterMetricFamily("notifier_limiter_wait_seconds", "Seconds spent waiting for the rate limiter",
                                     labels=["sender"])
        for sender, values in sorted(counted["limiter_wait"].items()):
            waits.add_metric([sender], values.get("count", 0))
            waited.add_metric([sender], values.get("sum", 0.0))
        yield waits
        yield waited

        hooks = CounterMetricFamily("notifier_webhooks", "Gateway webhooks received", labels=["kind", "outcome"])
        for label, count in sorted(counted["webhooks"].items()):
            kind, _, outcome = label.partition(":")
            hooks.add_metric([kind, outcome], count)
        yield hooks


def render():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector())
    return generate_latest(registry)
