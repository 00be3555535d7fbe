"""End to end: real PostgreSQL, Redis, Celery worker processes and the simulator over HTTP.

Every test counts what the gateway really accepted: exactly one text per message, none lost.
"""
import signal
from collections import Counter
from datetime import datetime

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from notifier.delivery.models import DELIVERED, FINAL_STATUSES, Message, MessageEvent
from notifier.delivery.outbox import create_messages, enqueue
from notifier.extensions import db
from tests.conftest import wait_until

pytestmark = pytest.mark.slow


def make_outbox(n, body="【县人大常委会】请各位代表于本周五上午九时参加常委会会议。第{i}号"):
    """n messages to distinct numbers, queued; returns their ids."""
    rows = create_messages([{"to": f"+86138{i:08d}", "body": body.format(i=i)} for i in range(n)])
    return enqueue([m.id for m in rows])


def status_counts():
    db.session.commit()
    return dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all())


def all_final(n):
    counts = status_counts()
    return sum(v for k, v in counts.items() if k in FINAL_STATUSES) == n and counts


def assert_exactly_once(sim_process, n):
    accepted = sim_process.accepted
    per_text = Counter((m["to"], m["body"]) for m in accepted)
    assert len(accepted) == n, f"gateway accepted {len(accepted)} texts for {n} messages"
    assert not [k for k, c in per_text.items() if c > 1], "duplicates at the gateway"
    db.session.commit()
    gateway_ids = set(db.session.scalars(select(Message.gateway_id)))
    assert {m["sid"] for m in accepted} == gateway_ids


def test_2000_messages_all_delivered_exactly_once(dctx, workers, sim_process):
    workers.start()
    n = 2000
    ids = make_outbox(n)
    assert len(ids) == n
    counts = wait_until(lambda: status_counts().get(DELIVERED) == n and status_counts(), 180,
                        what="2,000 delivered")
    assert counts == {DELIVERED: n}
    assert_exactly_once(sim_process, n)


def test_500s_and_hangs_still_exactly_once(dctx, workers, sim_process):
    sim_process.configure(fail_rate=0.2, hang_rate=0.05, hang_seconds=2.0)
    workers.start()
    make_outbox(300)
    counts = wait_until(lambda: all_final(300), 180, what="every message final")
    assert counts == {DELIVERED: 300}, counts
    assert_exactly_once(sim_process, 300)
    db.session.commit()
    assert db.session.scalar(select(func.max(Message.attempts))) > 1  # retries really happened


def test_sigkill_worker_and_flushdb_mid_run(dctx, workers, sim_process, delivery_app):
    sim_process.configure(latency_ms=50)
    # Paced at 40/s, so that plenty is still waiting in Redis when it is flushed.
    first = workers.start(beat=True, SMS_RATE_LIMIT=40)
    make_outbox(600)
    wait_until(lambda: sum(v for k, v in status_counts().items() if k not in ("queued",)) >= 80, 60,
               interval=0.1, what="sending under way")
    workers.kill(first, signal.SIGKILL)  # mid-batch: claimed messages stay in `sending`
    workers.start(beat=True, SMS_RATE_LIMIT=40)
    wait_until(lambda: status_counts().get(DELIVERED, 0) >= 150, 90, interval=0.2, what="more delivered")
    assert status_counts().get("queued", 0) > 100
    redis_lib.Redis.from_url(delivery_app.config["REDIS_URL"]).flushdb()  # every queued task is gone
    counts = wait_until(lambda: all_final(600), 180, what="every message final after kill + flush")
    assert counts == {DELIVERED: 600}, counts
    assert_exactly_once(sim_process, 600)
    # The sweeper (beat inside the new worker) found the messages whose tasks were flushed.
    sources = Counter(db.session.scalars(select(MessageEvent.source)))
    assert sources["sweeper"] > 0, sources
    print("events by source:", dict(sources))


def test_rate_limit_shared_by_two_workers(dctx, workers, sim_process):
    sim_process.configure(rate_cap=20)
    workers.start(SMS_RATE_LIMIT=20, concurrency=4)
    workers.start(SMS_RATE_LIMIT=20, concurrency=4)
    n = 300
    make_outbox(n, body="Meeting on Friday at 9, room {i}.")  # GSM-7, one segment each
    wait_until(lambda: sum(v for k, v in status_counts().items() if k not in ("queued", "sending")) == n, 120,
               what="every message accepted")
    accepted = sim_process.accepted
    assert len(accepted) == n
    errors = sim_process.stats()["errors"]
    assert errors.get("20429", 0) == 0, errors  # the limiter kept both workers under the cap
    # The rate the gateway saw, from its own clock.
    times = sorted(datetime.fromisoformat(m["date_created"]) for m in accepted)
    rate = (n - 1) / (times[-1] - times[0]).total_seconds()
    print(f"rate seen by the gateway: {rate:.2f} msg/s")
    assert abs(rate - 20) <= 2, f"measured {rate:.1f} msg/s"
