"""Status callbacks (signed, forward-only, idempotent), reconciliation and the sweeper."""
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from notifier.delivery.models import (
    DELIVERED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    UNDELIVERED,
    Message,
    MessageEvent,
)
from notifier.delivery.outbox import create_messages, enqueue
from notifier.delivery.receipts import poll_receipt
from notifier.delivery.reconcile import reconcile, sweep
from notifier.delivery.sending import deliver
from notifier.extensions import db
from notifier.simulator import DEFAULT_AUTH_TOKEN
from notifier.timeutil import utcnow

BODY = "【县人大常委会】明日上午九时召开代表座谈会。"


def one_message(to="+8613800000001", body=BODY):
    [row] = create_messages([{"to": to, "body": body}])
    return row.id


def post_callback(client, message_id, status, sid="SM" + "a" * 32, sign_with=DEFAULT_AUTH_TOKEN,
                  base="http://localhost", headers=None, **extra):
    path = f"/webhooks/twilio/status?message_id={message_id}"
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}
    signature = RequestValidator(sign_with).compute_signature(base + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})


@pytest.fixture
def hook(delivery_app, client):
    return client


def status_of(mid):
    db.session.commit()
    return db.session.get(Message, mid)


def test_forged_and_missing_signatures_get_403(dctx, hook):
    mid = one_message()
    assert post_callback(hook, mid, "delivered", sign_with="not-the-token").status_code == 403
    path = f"/webhooks/twilio/status?message_id={mid}"
    assert hook.post(path, data={"MessageSid": "SMx", "MessageStatus": "delivered"}).status_code == 403
    # Signed for another message id: the query string is part of what is signed.
    params = {"MessageSid": "SMx", "MessageStatus": "delivered"}
    signature = RequestValidator(DEFAULT_AUTH_TOKEN).compute_signature(
        "http://localhost/webhooks/twilio/status?message_id=999", params)
    assert hook.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code == 403
    assert status_of(mid).status == "pending"
    assert db.session.scalars(select(MessageEvent)).all() == []


def test_signature_checked_against_public_url_behind_a_proxy(dctx, hook, delivery_app):
    delivery_app.config["PUBLIC_BASE_URL"] = "https://sms.example.gov.cn"
    mid = one_message()
    # The proxy forwards to http://127.0.0.1:8000; Twilio signed the public https URL.
    response = post_callback(hook, mid, "sent", base="https://sms.example.gov.cn",
                             headers={"Host": "127.0.0.1:8000", "X-Forwarded-Proto": "http"})
    assert response.status_code == 200
    assert post_callback(hook, mid, "sent", base="http://127.0.0.1:8000").status_code == 403


def test_out_of_order_and_replayed_callbacks(dctx, hook):
    mid = one_message()
    db.session.execute(update(Message).where(Message.id == mid).values(status=SENDING, claimed_at=utcnow()))
    db.session.commit()
    # The callback beats the create response: it carries the id and moves the message on.
    assert post_callback(hook, mid, "delivered").status_code == 200
    message = status_of(mid)
    assert message.status == DELIVERED and message.gateway_id == "SM" + "a" * 32 and message.delivered_at
    for late in ("queued", "sent", "undelivered", "failed", "delivered"):
        assert post_callback(hook, mid, late, ErrorCode="30003").status_code == 200
    message = status_of(mid)
    assert message.status == DELIVERED and message.error_code is None
    events = db.session.scalars(select(MessageEvent).where(MessageEvent.message_id == mid)).all()
    assert len(events) == 6 and all(e.source == "callback" and e.raw["MessageSid"] for e in events)
    # A callback naming another gateway id for this message changes nothing.
    post_callback(hook, mid, "undelivered", sid="SM" + "b" * 32)
    assert status_of(mid).status == DELIVERED


def test_sent_is_provisional_and_undelivered_keeps_the_error(dctx, hook):
    mid = one_message()
    db.session.execute(update(Message).where(Message.id == mid).values(status=SENT, gateway_id="SM1"))
    db.session.commit()
    post_callback(hook, mid, "sent", sid="SM1")
    assert status_of(mid).status == SENT
    post_callback(hook, mid, "undelivered", sid="SM1", ErrorCode="30005", ErrorMessage="Unknown destination")
    message = status_of(mid)
    assert (message.status, message.error_code, message.error_message) == (UNDELIVERED, "30005", "Unknown destination")
    post_callback(hook, mid, "delivered", sid="SM1")
    assert status_of(mid).status == UNDELIVERED  # final statuses never change


def test_unknown_message_is_acknowledged(dctx, hook):
    assert post_callback(hook, 424242, "delivered").status_code == 200


def test_status_json_needs_login(delivery_app, hook, make_user, login):
    assert hook.get("/delivery/status.json").status_code in (302, 401)
    with delivery_app.app_context():
        one_message()
    make_user("viewer", username="watcher")
    login(SimpleNamespace(username="watcher"))
    data = hook.get("/delivery/status.json").get_json()
    assert data["messages"]["pending"] == 1 and data["total"] == 1
    assert set(data["queues"]) >= {"send", "callbacks", "periodic"}
    assert data["limiter"]["limit"] == 1000.0


def _claimed_but_lost(mid, age_seconds=600):
    """As if a worker claimed the message and died (before or after the HTTP call)."""
    db.session.execute(update(Message).where(Message.id == mid).values(
        status=SENDING, attempts=1, claimed_at=utcnow() - timedelta(seconds=age_seconds)))
    db.session.commit()


def test_reconcile_adopts_a_text_the_gateway_has(dctx, sim):
    mid = one_message()
    client = sim.twilio_client()
    remote = client.messages.create(to="+8613800000001", from_="+15005550006", body=BODY)
    client.messages.create(to="+8613800000001", from_="+15005550006", body="another text")
    _claimed_but_lost(mid)
    assert reconcile(mid) == "adopted"
    message = status_of(mid)
    assert message.status in (SENT, DELIVERED) and message.gateway_id == remote.sid
    assert reconcile(mid) == "nothing"
    assert sim.count(body=BODY) == 1


def test_reconcile_requeues_a_text_the_gateway_never_got(dctx, sim):
    mid = one_message()
    _claimed_but_lost(mid)
    assert reconcile(mid) == "requeued"
    assert status_of(mid).status == QUEUED
    assert deliver([mid])["accepted"] == 1
    assert sim.count() == 1


def test_reconcile_ignores_texts_already_owned_by_another_message(dctx, sim):
    first, second = one_message(), one_message()  # same number, same body (a repeated reminder)
    enqueue([first])
    deliver([first])
    _claimed_but_lost(second)
    assert reconcile(second) == "requeued"


def test_timed_out_call_then_reconcile_sends_exactly_once(dctx, sim, delivery_app):
    sim.configure(hang_rate=1.0, hang_seconds=1.5)  # the gateway accepts, then answers too late
    delivery_app.config["TWILIO_HTTP_TIMEOUT"] = 0.5
    delivery_app.extensions.pop("sms_gateway", None)
    mid = one_message()
    enqueue([mid])
    assert deliver([mid])["unknown"] == 1
    assert reconcile(mid) == "adopted"
    assert sim.count() == 1 and status_of(mid).gateway_id == sim.accepted[0]["sid"]


def test_sweeper_requeues_reconciles_and_polls(dctx, sim, delivery_app):
    import redis

    stuck, lost, unconfirmed = one_message("+8613800000001"), one_message("+8613800000002"), one_message("+8613800000003")
    enqueue([stuck, unconfirmed])
    deliver([unconfirmed])
    old = utcnow() - timedelta(hours=3)
    db.session.execute(update(Message).where(Message.id == stuck).values(queued_at=old))
    db.session.execute(update(Message).where(Message.id == unconfirmed).values(status=SENT, sent_at=old, updated_at=old))
    db.session.commit()
    _claimed_but_lost(lost)
    broker = redis.Redis.from_url(delivery_app.config["REDIS_URL"])
    broker.flushdb()  # the broker forgot everything
    sim.wait_for_callbacks()
    done = sweep()
    assert done["requeued"] == 1 and done["reconcile"] == 1 and done["poll"] == 1
    assert broker.llen("send") == 1 and broker.llen("callbacks") == 2
    assert status_of(stuck).queued_at > old
    assert sweep()["requeued"] == 0  # just queued again: not stale any more
    # What the queued tasks do:
    assert deliver([stuck])["accepted"] == 1
    assert reconcile(lost) == "requeued"
    assert poll_receipt(unconfirmed) == DELIVERED


def test_reconcile_gives_up_after_max_attempts(dctx, sim, delivery_app):
    mid = one_message()
    _claimed_but_lost(mid)
    db.session.execute(update(Message).where(Message.id == mid).values(attempts=delivery_app.config["SMS_MAX_ATTEMPTS"]))
    db.session.commit()
    assert reconcile(mid) == "failed"
    assert status_of(mid).status == FAILED
