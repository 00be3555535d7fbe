"""Fault injection: latency, the rate cap, 500s, hangs, permanent failures and undelivered shares."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from .conftest import Api, assert_twilio_error


def _burst(sim, count, workers=20, **form):
    """Send `count` creates at once from `workers` threads; returns the responses."""
    apis = [Api(sim) for _ in range(workers)]

    def one(i):
        return apis[i % workers].create(To=f"+86138{i:08d}", Body=f"burst {i}", **form)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(count)))


def test_latency_sleeps_per_request_without_serialising_them(sim):
    sim.configure(latency_ms=300)
    started = time.monotonic()
    responses = _burst(sim, 20, workers=20)
    elapsed = time.monotonic() - started
    assert all(r.status_code == 201 for r in responses)
    assert all(r.elapsed.total_seconds() >= 0.29 for r in responses)
    assert elapsed < 3, (
        f"20 concurrent requests at 300 ms took {elapsed:.2f}s: requests are serialised"
    )
    assert sim.stats()["peak_in_flight"] >= 10


def test_latency_range(sim, api):
    sim.configure(latency_ms="50-150")
    times = [api.create(To="+8613800138000", Body="hi").elapsed.total_seconds() for _ in range(8)]
    assert all(0.045 <= t < 0.5 for t in times)


def test_rate_cap_answers_429_20429_beyond_the_cap(sim):
    sim.configure(rate_cap=10)
    started = time.monotonic()
    responses = _burst(sim, 60, workers=20)
    elapsed = time.monotonic() - started
    accepted = [r for r in responses if r.status_code == 201]
    limited = [r for r in responses if r.status_code == 429]
    assert len(accepted) + len(limited) == 60
    for response in limited[:3]:
        assert_twilio_error(response, 429, 20429)
    # A one-second bucket, refilled at 10/s while the burst lasted.
    assert 10 <= len(accepted) <= 10 + 10 * elapsed + 1
    assert len(limited) >= 60 - (10 + 10 * elapsed + 1)
    assert sim.count() == len(accepted)
    assert sim.stats()["rate_limited"] == len(limited)


def test_rate_cap_lets_a_paced_sender_through(sim, api):
    sim.configure(rate_cap=20)
    statuses = []
    for _ in range(10):
        statuses.append(api.create(To="+8613800138000", Body="paced").status_code)
        time.sleep(0.06)  # ~16/s, under the cap
    assert statuses == [201] * 10


def test_twilio_client_sees_429_as_an_exception_with_code_20429(sim, twilio):
    sim.configure(rate_cap=1)
    twilio.messages.create(to="+8613800138000", from_="+15017122661", body="first")
    with pytest.raises(TwilioRestException) as failure:
        twilio.messages.create(to="+8613800138000", from_="+15017122661", body="second")
    assert (failure.value.status, failure.value.code) == (429, 20429)


def test_fail_rate_fails_about_that_share_with_500(sim):
    sim.configure(fail_rate=0.3, seed=7)
    responses = _burst(sim, 300, workers=10)
    failed = [r for r in responses if r.status_code == 500]
    assert 0.2 <= len(failed) / 300 <= 0.4
    assert_twilio_error(failed[0], 500, 20500)
    assert sim.count() == 300 - len(failed)  # a failed call accepts nothing
    assert all(r.status_code in (201, 500) for r in responses)


def test_failed_call_that_accepts_anyway(sim, api):
    sim.configure(fail_rate=1.0, fail_accepts=True)
    assert_twilio_error(api.create(To="+8613800138000", Body="accepted?"), 500, 20500)
    assert sim.count(to="+8613800138000", body="accepted?") == 1
    assert_twilio_error(api.create(To="bad", Body="x"), 400, 21211)  # still validated first


def test_hung_call_times_out_the_client_but_is_accepted(sim, api):
    sim.configure(hang_rate=1.0, hang_seconds=3, hang_accepts=True)
    with pytest.raises(requests.Timeout):
        api.create(To="+8613800138000", Body="exactly once?", timeout=0.3)
    # The gateway has it: reconciliation must find it instead of sending again.
    assert sim.count(to="+8613800138000", body="exactly once?") == 1
    listed = api.get(api.messages_url, To="+8613800138000").json()["messages"]
    assert [m["body"] for m in listed] == ["exactly once?"]
    # A hung request does not hold up others.
    sim.configure(hang_rate=0.0)
    assert api.create(To="+8613800138001", Body="next", timeout=1).status_code == 201


def test_hung_call_that_does_not_accept(sim, api):
    sim.configure(hang_rate=1.0, hang_seconds=3, hang_accepts=False)
    with pytest.raises(requests.Timeout):
        api.create(To="+8613800138000", Body="lost", timeout=0.3)
    assert sim.count() == 0
    assert sim.stats()["hung"] == 1


def test_hang_share_and_a_patient_client(sim):
    sim.configure(hang_rate=0.5, hang_seconds=0.3, seed=3)
    responses = _burst(sim, 80, workers=20)
    hung = sim.stats()["hung"]
    assert 0.3 <= hung / 80 <= 0.7
    assert len([r for r in responses if r.elapsed.total_seconds() >= 0.3]) >= hung
    assert all(r.status_code == 201 for r in responses)  # waited long enough: answered normally
    assert sim.count() == 80


@pytest.mark.parametrize(
    "option, code",
    [("invalid_numbers", 21211), ("opted_out_numbers", 21610), ("not_mobile_numbers", 21614)],
)
def test_chosen_numbers_fail_permanently(sim, twilio, option, code):
    sim.configure(**{option: ["+8613900000001"]})
    with pytest.raises(TwilioRestException) as failure:
        twilio.messages.create(to="+8613900000001", from_="+15017122661", body="hi")
    assert (failure.value.status, failure.value.code) == (400, code)
    twilio.messages.create(to="+8613900000002", from_="+15017122661", body="hi")  # others pass
    assert [m["to"] for m in sim.accepted] == ["+8613900000002"]


@pytest.mark.parametrize(
    "number, code", [("+15005550001", 21211), ("+15005550004", 21610), ("+15005550009", 21614)]
)
def test_twilio_magic_test_numbers(api, number, code):
    assert_twilio_error(api.create(To=number, Body="hi"), 400, code)


def test_chosen_numbers_end_undelivered_or_failed(sim, twilio, receiver):
    sim.configure(undelivered_numbers={"+8613900000001": 30005}, failed_numbers=["+8613900000002"])
    callback = f"{receiver.url}/status"
    sids = [
        twilio.messages.create(to=to, from_="+15017122661", body="hi", status_callback=callback).sid
        for to in ("+8613900000001", "+8613900000002", "+8613900000003")
    ]
    assert sim.wait_for_callbacks(5)
    final = [twilio.messages(sid).fetch() for sid in sids]
    assert [(m.status, m.error_code) for m in final] == [
        ("undelivered", 30005),
        ("failed", 30008),
        ("delivered", None),
    ]
    statuses = [[r["params"]["MessageStatus"] for r in receiver.for_message(sid)] for sid in sids]
    assert sorted(statuses[1]) == ["failed", "queued"]  # a failed message is never sent
    undelivered = [
        r["params"]
        for r in receiver.for_message(sids[0])
        if r["params"]["MessageStatus"] == "undelivered"
    ]
    assert [p["ErrorCode"] for p in undelivered] == ["30005"]


def test_undelivered_rate_ends_about_that_share_undelivered(sim):
    sim.configure(undelivered_rate=0.25, seed=11, sent_after_ms=0, final_after_ms=0)
    assert all(r.status_code == 201 for r in _burst(sim, 200, workers=10))
    assert sim.wait_for_callbacks(10)
    undelivered = sim.simulator.accepted(status="undelivered")
    assert 0.15 <= len(undelivered) / 200 <= 0.35
    assert {m["error_code"] for m in undelivered} <= {30003, 30005}
    assert len(sim.simulator.accepted(status="delivered")) == 200 - len(undelivered)
