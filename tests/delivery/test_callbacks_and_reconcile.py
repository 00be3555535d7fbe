"""Status callbacks (signed, forward-only, idempotent), reconciliation and the sweeper."""
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from flask import current_app
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from notifier.delivery.clock import db_now
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
from notifier.delivery.sending import deliver, get_gateway
from notifier.extensions import db
from notifier.gateways.twilio.adapter import body_match
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


def _claimed_but_lost(mid, age_seconds=None):
    """As if a worker claimed the message and died (before or after the HTTP call), just over its
    lease ago (a text it sent then is in the claim's window at the gateway)."""
    if age_seconds is None:
        age_seconds = current_app.config["SMS_SEND_LEASE_SECONDS"] + 5
    claimed = utcnow() - timedelta(seconds=age_seconds)
    db.session.execute(update(Message).where(Message.id == mid).values(
        status=SENDING, attempts=1, claimed_at=claimed, first_attempt_at=claimed))
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
    delivery_app.extensions.pop("sms_gateways", None)
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


# --- reconciliation that cannot send twice (issue 10, item 5) ---------------------------------

NOTICE = "【县人大常委会】请于１２月５日（周五）上午９：００到县政府３楼会议室参加代表座谈会，回复１确认。"


@pytest.mark.parametrize("listed", [
    NOTICE,
    "请于１２月５日（周五）上午９：００到县政府３楼会议室参加代表座谈会，回复１确认。【县人大常委会】",  # signature moved
    "【县人大常委会】请于12月5日(周五)上午9:00到县政府3楼会议室参加代表座谈会,回复1确认。",  # halfwidth forms
    "【县人大常委会】请于１２月５日（周五）上午９：００到县政府３楼会议室参加代表座谈会， 回复１确认。\n",
    NOTICE + "回复TD退订",  # a carrier's footer
    NOTICE + " Reply STOP to unsubscribe.",
    "Sent from your Twilio trial account - " + NOTICE,
    NOTICE[:40],  # truncated, or the first part of a split text
])
def test_body_match_sees_through_what_twilio_may_change(listed):
    assert body_match(NOTICE, listed)


@pytest.mark.parametrize("listed", [
    "【县人大常委会】请于１２月６日（周六）上午９：００到县政府３楼会议室参加代表座谈会，回复１确认。",  # another date
    "【县人大常委会】请于１２月５日",  # too little to tell
    NOTICE + "会议改期至下周一，地点另行通知，请各位代表相互转告，谢谢配合。",  # a longer, other text
    "",
])
def test_body_match_refuses_other_texts(listed):
    assert not body_match(NOTICE, listed)


def test_body_match_ranks_exact_over_normalised_over_partial():
    assert body_match(NOTICE, NOTICE) > body_match(NOTICE, NOTICE.replace("，", ",")) > body_match(NOTICE, NOTICE[:40])


def test_reconcile_adopts_a_text_the_gateway_holds_in_another_form(dctx, sim):
    mid = one_message(body=NOTICE)
    client = sim.twilio_client()
    changed = NOTICE.replace("【县人大常委会】", "") + "【县人大常委会】"
    remote = client.messages.create(to="+8613800000001", from_="+15005550006", body=changed)
    _claimed_but_lost(mid)
    assert reconcile(mid) == "adopted"
    assert status_of(mid).gateway_id == remote.sid
    assert sim.count() == 1


def test_reconcile_reads_every_page(dctx, sim):
    mid = one_message()
    client = sim.twilio_client()
    remote = client.messages.create(to="+8613800000001", from_="+15005550006", body=BODY)
    for i in range(230):  # newer texts to the same deputy push ours far down the list
        client.messages.create(to="+8613800000001", from_="+15005550006", body=f"第{i}条其他通知")
    get_gateway().list_page_size = 50
    _claimed_but_lost(mid)
    assert reconcile(mid) == "adopted"
    assert status_of(mid).gateway_id == remote.sid


def test_reconcile_looks_only_where_the_claim_could_have_sent(dctx, sim):
    """An identical text the gateway got before this claim began (an earlier reminder whose row
    is gone) is not this claim's: adopting it would mean this one is never sent."""
    mid = one_message()
    client = sim.twilio_client()
    client.messages.create(to="+8613800000001", from_="+15005550006", body=BODY)
    later = utcnow() + timedelta(minutes=10)  # the claim began well after that text
    db.session.execute(update(Message).where(Message.id == mid).values(
        status=SENDING, attempts=1, claimed_at=later, first_attempt_at=later, error_code="timeout"))
    db.session.commit()
    assert reconcile(mid) == "requeued"


def test_reconcile_leaves_a_claim_whose_call_may_still_be_under_way(dctx, sim):
    """A reconcile task that arrives while a newer claim's call is in flight must not look yet:
    the gateway may not have the text so far, and a requeue would send it twice."""
    mid = one_message()
    db.session.execute(update(Message).where(Message.id == mid).values(
        status=SENDING, attempts=2, claimed_at=db_now(), first_attempt_at=db_now()))
    db.session.commit()
    assert reconcile(mid) == "nothing"
    message = status_of(mid)
    assert message.status == SENDING and message.attempts == 2
    assert db.session.scalars(select(MessageEvent).where(MessageEvent.message_id == mid)).all() == []


def test_a_worker_that_lost_its_claim_changes_nothing(dctx, sim, delivery_app):
    """Worker A's call is slow; meanwhile its lease is taken over (another claim). When A's
    answer finally comes, the row stays as the new claim left it."""
    sim.configure(hang_rate=1.0, hang_seconds=1.5)  # accepted, answered after 1.5 s
    delivery_app.config["TWILIO_HTTP_TIMEOUT"] = 10.0
    delivery_app.extensions.pop("sms_gateways", None)
    mid = one_message()
    enqueue([mid])
    summary = {}

    def worker_a():
        with delivery_app.app_context():
            summary.update(deliver([mid]))
            db.session.remove()

    thread = threading.Thread(target=worker_a)
    thread.start()
    first = wait_for(lambda: status_of(mid).status == SENDING and status_of(mid).claimed_at)
    taken_over = db_now()
    db.session.execute(update(Message).where(Message.id == mid).values(claimed_at=taken_over))
    db.session.commit()
    thread.join(30)
    assert summary["stale"] == 1 and summary["accepted"] == 0
    message = status_of(mid)
    assert (message.status, message.gateway_id, message.claimed_at) == (SENDING, None, taken_over)
    assert first != taken_over
    detail = db.session.scalars(select(MessageEvent.detail).where(MessageEvent.message_id == mid)
                                .order_by(MessageEvent.id.desc())).first()
    assert detail.startswith("late answer under an earlier claim")
    # The new claim, once over, finds A's text at the gateway and adopts it: still one text.
    db.session.execute(update(Message).where(Message.id == mid).values(error_code="timeout"))
    db.session.commit()
    assert reconcile(mid) == "adopted"
    assert status_of(mid).gateway_id == sim.accepted[0]["sid"] and sim.count() == 1


def test_claims_take_the_database_clock_not_the_workers(dctx, sim, delivery_app):
    """A worker whose clock is ten minutes slow must not claim with a time the sweeper reads as
    a lease long over (it would reconcile, and maybe resend, a text still in flight)."""
    sim.configure(hang_rate=1.0, hang_seconds=1.0)
    delivery_app.config["TWILIO_HTTP_TIMEOUT"] = 0.3
    delivery_app.extensions.pop("sms_gateways", None)
    mid = one_message()
    enqueue([mid])
    with time_machine.travel(utcnow() - timedelta(minutes=10), tick=True):
        assert deliver([mid])["unknown"] == 1
    message = status_of(mid)
    assert message.status == SENDING
    assert abs((db_now() - message.claimed_at).total_seconds()) < 30
    assert abs((db_now() - message.first_attempt_at).total_seconds()) < 30
    assert sweep()["reconcile"] == 0  # by the database's clock the lease has 15 s to run


def wait_for(predicate, timeout=20):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")
