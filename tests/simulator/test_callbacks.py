"""Status callbacks: Twilio's fields, signed as Twilio signs them, in the background, retried."""

import logging
import time

from twilio.request_validator import RequestValidator

STATUS_FIELDS = {
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "From",
    "To",
    "MessageStatus",
    "SmsStatus",
    "ApiVersion",
}


def _valid(sim, url, received):
    signature = received["headers"]["X-Twilio-Signature"]
    return RequestValidator(sim.auth_token).validate(url, received["params"], signature)


def test_queued_sent_delivered_callbacks_signed_like_twilio(sim, twilio, receiver):
    sim.configure(sent_after_ms=150, final_after_ms=150)  # far enough apart to arrive in order
    url = f"{receiver.url}/webhooks/twilio/status?message_id=42"
    message = twilio.messages.create(
        to="+8613800138000", from_="+15017122661", body="通知", status_callback=url
    )
    assert sim.wait_for_callbacks(5)
    received = receiver.for_message(message.sid)
    assert [r["params"]["MessageStatus"] for r in received] == ["queued", "sent", "delivered"]
    for r in received:
        assert r["path"] == "/webhooks/twilio/status?message_id=42"
        assert r["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        params = r["params"]
        assert STATUS_FIELDS <= set(params) and "ErrorCode" not in params
        assert params["SmsSid"] == params["MessageSid"] == message.sid
        assert params["SmsStatus"] == params["MessageStatus"]
        assert (params["AccountSid"], params["From"], params["To"]) == (
            sim.account_sid,
            "+15017122661",
            "+8613800138000",
        )
        assert params["ApiVersion"] == "2010-04-01"
        # Signed over the full URL (query string included) with the auth token, as Twilio does.
        assert _valid(sim, url, r)
        assert not RequestValidator("another-token").validate(
            url, params, r["headers"]["X-Twilio-Signature"]
        )
        assert not _valid(sim, f"{receiver.url}/webhooks/twilio/status", r)
    assert twilio.messages(message.sid).fetch().status == "delivered"


def test_undelivered_callback_carries_the_error_code(sim, twilio, receiver):
    sim.configure(undelivered_rate=1.0)
    url = f"{receiver.url}/status"
    message = twilio.messages.create(
        to="+8613800138000", from_="+15017122661", body="hi", status_callback=url
    )
    assert sim.wait_for_callbacks(5)
    received = receiver.for_message(message.sid)
    assert sorted(r["params"]["MessageStatus"] for r in received) == [
        "queued",
        "sent",
        "undelivered",
    ]
    last = next(r for r in received if r["params"]["MessageStatus"] == "undelivered")
    assert last["params"]["ErrorCode"] in ("30003", "30005")
    assert _valid(sim, url, last)
    fetched = twilio.messages(message.sid).fetch()
    assert fetched.status == "undelivered" and fetched.error_code == int(
        last["params"]["ErrorCode"]
    )


def test_messaging_service_callbacks_name_the_service(sim, twilio, receiver):
    service = "MG" + "1" * 32
    sim.configure(sent_after_ms=150, final_after_ms=150)
    message = twilio.messages.create(
        to="+8613800138000",
        messaging_service_sid=service,
        body="hi",
        status_callback=f"{receiver.url}/status",
    )
    assert sim.wait_for_callbacks(5)
    received = receiver.for_message(message.sid)
    assert [r["params"]["MessageStatus"] for r in received] == ["queued", "sent", "delivered"]
    assert all(r["params"]["MessagingServiceSid"] == service for r in received)


def test_a_slow_callback_endpoint_does_not_block_create(sim, api, receiver):
    receiver.delay = 2.0
    started = time.monotonic()
    for i in range(5):
        response = api.create(
            To=f"+861380013800{i}", Body="hi", StatusCallback=f"{receiver.url}/status"
        )
        assert response.status_code == 201
    assert time.monotonic() - started < 1.5  # far less than one callback's 2 s
    assert len(receiver.wait_for(5, timeout=5)) >= 5


def test_failing_endpoint_is_retried_with_the_same_idempotency_token(sim, twilio, receiver):
    receiver.statuses = [500, 503]  # the first two posts fail, the third gets through
    sim.configure(sent_after_ms=2000)  # keep the later steps out of the way
    message = twilio.messages.create(
        to="+8613800138000",
        from_="+15017122661",
        body="hi",
        status_callback=f"{receiver.url}/status",
    )
    received = receiver.wait_for(3, timeout=5)
    assert [r["params"]["MessageStatus"] for r in received[:3]] == ["queued"] * 3
    assert len({r["headers"]["I-Twilio-Idempotency-Token"] for r in received[:3]}) == 1
    assert all(r["params"]["MessageSid"] == message.sid for r in received[:3])
    assert sim.stats()["callbacks_retried"] == 2


def test_callbacks_given_up_after_retries_are_logged(sim, twilio, receiver, caplog):
    receiver.statuses = [500] * 20
    sim.configure(callback_retries=2, sent_after_ms=5000)
    with caplog.at_level(logging.WARNING, logger="notifier.simulator"):
        message = twilio.messages.create(
            to="+8613800138000",
            from_="+15017122661",
            body="hi",
            status_callback=f"{receiver.url}/status",
        )
        deadline = time.monotonic() + 5
        while sim.stats()["callbacks_failed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(receiver.for_message(message.sid)) == 3  # first try + 2 retries
    assert sim.stats()["callbacks_failed"] == 1
    assert any(
        message.sid in record.getMessage() and "failed" in record.getMessage()
        for record in caplog.records
    )


def test_a_4xx_from_the_endpoint_is_not_retried(sim, twilio, receiver):
    receiver.statuses = [403]
    sim.configure(sent_after_ms=5000)
    twilio.messages.create(
        to="+8613800138000", from_="+15017122661", body="hi", status_callback=f"{receiver.url}/s"
    )
    receiver.wait_for(1)
    time.sleep(0.3)
    assert len(receiver.received) == 1
    assert sim.stats()["callbacks_failed"] == 1


def test_callbacks_can_arrive_before_the_create_response(sim, api, receiver):
    sim.configure(latency_ms=400)  # half of it after the message is accepted
    response = api.create(To="+8613800138000", Body="hi", StatusCallback=f"{receiver.url}/status")
    sid = response.json()["sid"]
    assert receiver.for_message(sid), "the queued callback should have beaten the response back"


def test_reset_drops_pending_callbacks(sim, twilio, receiver):
    sim.configure(queued_after_ms=300)
    twilio.messages.create(
        to="+8613800138000", from_="+15017122661", body="hi", status_callback=f"{receiver.url}/s"
    )
    sim.reset()
    assert sim.wait_for_callbacks(2)
    time.sleep(0.4)
    assert receiver.received == [] and sim.accepted == []


def test_callbacks_can_be_limited_to_chosen_statuses(sim, twilio, receiver):
    sim.configure(callback_statuses="delivered,undelivered")
    message = twilio.messages.create(
        to="+8613800138000", from_="+15017122661", body="hi", status_callback=f"{receiver.url}/s"
    )
    assert sim.wait_for_callbacks(5)
    assert [r["params"]["MessageStatus"] for r in receiver.for_message(message.sid)] == [
        "delivered"
    ]
