"""The cluster-wide segment rate limiter, against the real Redis (TEST_REDIS_URL)."""
import multiprocessing
import os
import time
import uuid

import pytest
import redis as redis_lib

from notifier.delivery.ratelimit import SegmentRateLimiter

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Due:
    """Compares equal to a wait for a slot `expected` seconds after `since` (time.monotonic()
    before the first reservation). Time passing on a busy machine shortens the wait, never
    lengthens it: so anything from expected - elapsed to expected, give or take `tol`."""

    def __init__(self, expected, since, tol=0.03):
        self.expected, self.since, self.tol = expected, since, tol

    def __eq__(self, wait):
        elapsed = time.monotonic() - self.since
        return wait is not None and self.expected - elapsed - self.tol <= wait <= self.expected + self.tol

    def __repr__(self):
        return f"a wait of {self.expected}s less the time elapsed (±{self.tol})"


@pytest.fixture
def redis_client():
    return redis_lib.Redis.from_url(REDIS_URL)


@pytest.fixture
def prefix(redis_client):
    prefix = f"test:rate:{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def limiter(redis_client, prefix):
    def make(rate, **kwargs):
        return SegmentRateLimiter(redis_client, rate, key_prefix=prefix, **kwargs)

    return make


def _send_loop(redis_url, prefix, rate, duration, barrier, results):
    """One worker process: reserve, sleep as told, "send" (record the time); re-try on None."""
    limiter = SegmentRateLimiter(redis_lib.Redis.from_url(redis_url), rate, key_prefix=prefix)
    barrier.wait(timeout=60)  # all processes (and the test) start together
    end = time.time() + duration
    sent = []
    while time.time() < end:
        wait = limiter.reserve("+8610000", 1, max_wait=5.0)
        if wait is None:
            time.sleep(0.05)
            continue
        time.sleep(wait)
        sent.append(time.time())
    results.put(sent)


def test_three_processes_share_one_evenly_spaced_rate(redis_client, prefix):
    rate, duration = 20, 3.0
    # fork: the children only need Redis, and re-importing the app in three fresh interpreters
    # would cost seconds each on a busy 2-core machine. Each child opens its own connection.
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    processes = [
        ctx.Process(target=_send_loop, args=(REDIS_URL, prefix, rate, duration, barrier, results))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=60)
        limiter = SegmentRateLimiter(redis_client, rate, key_prefix=prefix)
        # While they send, what the limiter measures should be the rate they are held to.
        time.sleep(2.6)
        measured = limiter.measured_rate("+8610000", window=2.0)
        per_process = [results.get(timeout=60) for _ in processes]
        # Afterwards every reservation is accounted for (30 s back covers the whole run).
        time.sleep(0.15)  # let the last 0.1 s bucket close
        measured_total = limiter.measured_rate("+8610000", window=30.0) * 30.0
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    assert all(len(sends) >= 10 for sends in per_process), [len(s) for s in per_process]
    sends = sorted(t for process in per_process for t in process)
    achieved = (len(sends) - 1) / (sends[-1] - sends[0])
    assert achieved == pytest.approx(rate, rel=0.10)
    busiest = max(
        sum(1 for t in sends[i:] if t < start + 1.0) for i, start in enumerate(sends)
    )
    assert busiest <= rate + 1
    assert measured == pytest.approx(rate, rel=0.15)
    assert measured_total == pytest.approx(len(sends))


def test_slots_are_spaced_by_rate(limiter):
    lim = limiter(10)
    since = time.monotonic()
    waits = [lim.reserve("a") for _ in range(5)]
    assert waits[0] == 0.0
    for i, wait in enumerate(waits):
        assert wait == Due(0.1 * i, since)
    assert lim.next_free_in("a") == Due(0.5, since)


def test_multi_segment_reservation_costs_more(limiter):
    lim = limiter(10)
    since = time.monotonic()
    assert lim.reserve("a", 5) == 0.0
    assert lim.reserve("a", 1) == Due(0.5, since)  # five segments at 10/s
    since = time.monotonic()
    assert lim.reserve("b", 1) == 0.0
    assert lim.reserve("b", 1) == Due(0.1, since)  # one segment at 10/s


def test_over_max_wait_returns_none_and_reserves_nothing(redis_client, limiter):
    lim = limiter(10)
    since = time.monotonic()
    assert lim.reserve("a", 30) == 0.0  # the next slot is 3 s away
    tat_key, sent_key = lim.keys("a")
    before = (redis_client.get(tat_key), redis_client.hgetall(sent_key))
    assert lim.reserve("a", 1, max_wait=2.0) is None
    assert lim.reserve("a", 1, max_wait=0) is None
    assert (redis_client.get(tat_key), redis_client.hgetall(sent_key)) == before
    assert lim.next_free_in("a") == Due(3.0, since, tol=0.05)
    assert lim.reserve("a", 1, max_wait=5.0) == Due(3.0, since, tol=0.05)


def test_senders_are_independent(limiter):
    lim = limiter(1)
    assert lim.reserve("+8613800000001") == 0.0
    assert lim.reserve("+8613800000001", max_wait=0) is None
    assert lim.reserve("+8613800000002", max_wait=0) == 0.0
    assert lim.next_free_in("+8613800000003") == 0.0


def test_limiters_in_one_prefix_share_the_schedule(limiter):
    first, second = limiter(10), limiter(10)
    since = time.monotonic()
    assert first.reserve("a") == 0.0
    assert second.reserve("a") == Due(0.1, since)


def test_keys_expire_when_the_sender_is_idle(redis_client, limiter):
    lim = limiter(10, retention=0.5)
    tat_key, sent_key = lim.keys("a")
    lim.reserve("a", 3)
    assert 0 < redis_client.pttl(tat_key) <= 300
    assert 0 < redis_client.pttl(sent_key) <= 500
    time.sleep(0.7)
    assert redis_client.exists(tat_key, sent_key) == 0
    # With the default retention nothing is kept forever either.
    lim = limiter(10)
    lim.reserve("b")
    assert all(0 < redis_client.pttl(key) <= 60_100 for key in lim.keys("b"))


def test_bucket_hash_is_trimmed_while_busy(redis_client, limiter):
    lim = limiter(0, retention=0.05, bucket=0.01)
    deadline = time.time() + 0.6  # about 60 buckets, the trim threshold is 26
    while time.time() < deadline:
        lim.reserve("a", max_wait=0)
        time.sleep(0.002)
    assert redis_client.hlen(lim.keys("a")[1]) <= 27


def test_rate_change_applies_from_the_next_reservation(limiter):
    lim = limiter(1)
    since = time.monotonic()
    assert lim.reserve("a") == 0.0  # slot held for 1 s at the old rate
    lim.rate = 10
    assert lim.reserve("a") == Due(1.0, since)
    assert lim.reserve("a") == Due(1.1, since)


def test_zero_rate_is_unlimited_and_still_measured(limiter):
    lim = limiter(5)
    lim.reserve("a", 10)  # 2 s of schedule at 5/s
    lim.rate = 0
    assert [lim.reserve("a", max_wait=0) for _ in range(100)] == [0.0] * 100
    assert lim.next_free_in("a") == 0.0
    assert limiter(-1).reserve("b", 1000, max_wait=0) == 0.0
    time.sleep(0.25)
    assert lim.measured_rate("a", window=1.0) == pytest.approx(110.0)


def test_measured_rate_ignores_slots_not_yet_due(limiter):
    lim = limiter(10)
    lim.reserve("a", 20, max_wait=0)  # due now
    for _ in range(10):
        lim.reserve("a", 1, max_wait=10)  # due 2..3 s from now
    time.sleep(0.25)
    assert lim.measured_rate("a", window=1.0) == pytest.approx(20.0)
    assert lim.measured_rate("nobody") == 0.0


def test_bad_input_is_a_clear_error(limiter):
    lim = limiter(10)
    with pytest.raises(ValueError):
        lim.reserve("")
    with pytest.raises(ValueError):
        limiter(float("nan"))
    since = time.monotonic()
    assert lim.reserve("a", 0) == 0.0  # a request costs at least one slot
    assert lim.next_free_in("a") == Due(0.1, since)
