"""The cluster-wide segment rate limiter, against the real Redis (TEST_REDIS_URL)."""
import multiprocessing
import os
import time
import uuid

import pytest
import redis as redis_lib

from notifier.delivery.ratelimit import Pacer, SegmentRateLimiter
from notifier.gateways.base import ACCEPTED, PACED, THROTTLED, Outbound, SendResult

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
    lim = limiter(10, retention=0.5, memory=0.5)
    tat_key, sent_key = lim.keys("a")
    lim.reserve("a", 3)
    lim.throttled("a")
    lim.reserve("a", 3)
    assert 0 < redis_client.pttl(tat_key) <= 500
    assert 0 < redis_client.pttl(sent_key) <= 500
    assert 0 < redis_client.pttl(lim.state_key("a")) <= 500
    time.sleep(0.7)
    assert redis_client.exists(tat_key, sent_key, lim.state_key("a")) == 0
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


# --- the gateway's word: AIMD -------------------------------------------------------------------

def test_a_throttle_cuts_the_rate_and_a_burst_of_them_counts_once(limiter):
    lim = limiter(100, backoff=0.7, cut_interval=0.3)
    assert lim.effective_rate("a") == 100.0
    assert lim.throttled("a") == pytest.approx(70.0)
    # The 429s of the other requests already in flight at the old pace are the same news.
    assert [lim.throttled("a") for _ in range(5)] == [pytest.approx(70.0)] * 5
    time.sleep(0.35)
    assert lim.throttled("a") == pytest.approx(49.0)  # still refused after the interval: cut again
    assert lim.effective_rate("a") == pytest.approx(49.0)
    assert lim.effective_rate("b") == 100.0  # per sender
    # The rate only goes so low.
    floor = limiter(1, backoff=0.5, cut_interval=0, floor=0.4)
    assert [floor.throttled("c") for _ in range(3)] == [0.5, 0.4, 0.4]


def test_the_schedule_follows_the_effective_rate(limiter):
    lim = limiter(10, backoff=0.5)
    lim.throttled("a")  # 5 per second
    since = time.monotonic()
    waits = [lim.reserve("a") for _ in range(3)]
    assert waits == [0.0, Due(0.2, since), Due(0.4, since)]


def test_a_cut_voids_the_slots_handed_out_at_the_old_pace(limiter):
    lim = limiter(10)
    slots = [lim.reserve_slot("a", 1) for _ in range(20)]  # 2 s of schedule at 10/s
    assert {s.generation for s in slots} == {0} and slots[-1].wait > 1.5
    lim.throttled("a")
    assert lim.generation("a", max_age=0) == 1  # their holders see the schedule moved on
    # A new reservation does not queue behind the void slots: it starts now, at the new pace.
    fresh = lim.reserve_slot("a", 1)
    assert fresh == (0.0, 1)


def test_accepted_segments_raise_the_rate_back_never_above_the_ceiling(limiter):
    lim = limiter(100, backoff=0.7, recovery=10)
    assert lim.succeeded("a", 50) == 100.0  # nothing learned yet: nothing to do
    lim.throttled("a")  # 70
    # Nobody is waiting for a slot: the pace is not in use, so success proves nothing about it.
    assert lim.succeeded("a", 70) == pytest.approx(70.0)
    lim.reserve("a", 70)  # a second's worth of texts waiting for their slots
    # One second's worth of accepted segments at 70/s climbs 3/s: (1 - 0.7) * 100 / 10.
    assert lim.succeeded("a", 70) == pytest.approx(73.0)
    assert lim.succeeded("a", 73 * 5) == pytest.approx(88.0, abs=0.5)
    assert lim.succeeded("a", 100_000) == 100.0
    assert lim.effective_rate("a") == 100.0


def test_a_lower_ceiling_wins_over_what_was_learned(limiter):
    lim = limiter(100)
    lim.throttled("a")  # 70
    lim.reserve("a", 100)
    lim.rate = 20
    assert lim.effective_rate("a") == 20.0
    assert lim.succeeded("a", 1000) == 20.0


def test_an_unlimited_sender_is_slowed_from_the_pace_it_had(limiter):
    lim = limiter(0)
    for _ in range(20):
        assert lim.reserve("a", max_wait=0) == 0.0
    time.sleep(0.15)
    assert lim.throttled("a") == pytest.approx(14.0)  # 20 in the last second, times 0.7
    since = time.monotonic()
    assert [lim.reserve("a") for _ in range(2)] == [0.0, Due(1 / 14, since)]


def test_pacer_gives_a_fresh_slot_after_a_cut_and_hands_back_what_will_not_fit(limiter):
    lim = limiter(10, backoff=0.5, cut_interval=0)
    pacer = Pacer(lim, "a", max_wait=1.0)
    items = [Outbound(message_id=i, to="+8613800000001", sender="a", body="x") for i in range(10)]
    assert [pacer.reserve(item.message_id, 1) for item in items] == [0.0] + [pytest.approx(0.1 * i, abs=0.03)
                                                                            for i in range(1, 10)]
    assert pacer(items[0]) == 0.0  # on time and the pace unchanged: go
    pacer.on_result(items[0], SendResult(ACCEPTED, gateway_id="SM1"))
    pacer.on_result(items[1], SendResult(THROTTLED, error_code="20429"))  # the gateway: slow down
    assert lim.effective_rate("a") == 5.0 and pacer.throttles == 1
    # The others' slots were handed out at 10/s: each takes a fresh one at 5/s, and those that
    # would wait longer than max_wait go back to the queue.
    waits = [pacer(item) for item in items[2:]]
    assert waits[:6] == [0.0] + [pytest.approx(0.2 * i, abs=0.03) for i in range(1, 6)]
    assert waits[6:] == [None, None]
    assert pacer.repaced == 8 and pacer.returned == 2
    # A "paced" result is our own limiter's doing, not the gateway's: no second cut.
    pacer.on_result(items[9], SendResult(THROTTLED, error_code=PACED))
    assert pacer.throttles == 1
    # One accepted segment, while the others wait for their slots: a hair faster.
    assert pacer.settle() == pytest.approx(5.0 + 0.5 * 10 / 10 * 1 / 5)


def test_pacer_re_slots_a_text_that_woke_late(limiter):
    lim = limiter(10)
    pacer = Pacer(lim, "a", max_wait=0.2, late_tolerance=0.05)
    item = Outbound(message_id=1, to="+8613800000001", sender="a", body="x")
    since = time.monotonic()
    assert pacer.reserve(1, 1) == 0.0
    lim.reserve("a", 5)  # others took the next half second meanwhile
    time.sleep(0.1)  # a stall: the slot has passed
    # Behind the others, not in a burst with them; and it keeps its turn however far that is
    # (only a slot voided by a cut can send a text back to the queue).
    assert pacer(item) == Due(0.6, since, tol=0.05)
    assert pacer.repaced == 1 and pacer.returned == 0
