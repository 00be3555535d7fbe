"""The outbox and one send pass (`deliver`), called directly against the simulator over HTTP."""
import json

import pytest
from sqlalchemy import func, select, update

from notifier.delivery.models import (
    CANCELLED,
    FAILED,
    PENDING,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    GatewayExchange,
    Message,
    MessageEvent,
)
from notifier.delivery.outbox import cancel, create_messages, enqueue
from notifier.delivery.sending import deliver, status_callback_url
from notifier.extensions import db
from notifier.gateways.base import MISCONFIGURED, PERMANENT, THROTTLED, TRANSIENT
from notifier.gateways.twilio.adapter import TwilioGateway, classify_error
from notifier.notices.models import Notice
from notifier.roster.models import Deputy
from tests.delivery.conftest import FROM_NUMBER

CHINESE = "【县人大常委会】请各位代表于本周五上午九时参加常委会第十二次会议。"


def deputy(name, phone, **kwargs):
    row = Deputy(name=name, phone=phone, **kwargs)
    db.session.add(row)
    db.session.commit()
    return row


def notice_row(status="sending"):
    row = Notice(title="会议通知", body=CHINESE, status=status)
    db.session.add(row)
    db.session.commit()
    return row.id


def queued(*numbers, body=CHINESE, notice_id=None):
    rows = create_messages([{"to": n, "body": body} for n in numbers], notice_id=notice_id)
    enqueue([r.id for r in rows])
    return [r.id for r in rows]


@pytest.mark.parametrize("status,code,outcome", [
    (429, 20429, THROTTLED), (500, 20500, TRANSIENT), (503, None, TRANSIENT), (400, 30001, THROTTLED),
    (400, 21211, PERMANENT), (400, 21614, PERMANENT), (400, 21610, PERMANENT), (404, 20404, MISCONFIGURED),
    (401, 20003, MISCONFIGURED), (400, 21606, MISCONFIGURED), (400, 21602, PERMANENT),
])
def test_error_mapping(status, code, outcome):
    assert classify_error(status, code) == outcome


def test_create_messages_counts_segments_and_skips_opted_out(dctx):
    ok = deputy("张三", "+8613800000001")
    out = deputy("李四", "+8613800000002", opted_out=True)
    gone = deputy("王五", "+8613800000003", active=False)
    nid = notice_row()
    rows = create_messages([ok, out, gone], body=CHINESE * 3, notice_id=nid)
    assert [r.status for r in rows] == [PENDING, SKIPPED, SKIPPED]
    assert rows[1].error_message == "opted out" and rows[2].error_message == "inactive"
    assert rows[0].encoding == "UCS-2" and rows[0].segments == 2  # 108 chars: 67 per part
    assert rows[0].sender == FROM_NUMBER and rows[0].to == "+8613800000001"
    again = create_messages([ok, out, gone], body=CHINESE, notice_id=nid)  # one message per notice x deputy
    assert [r.id for r in again] == [r.id for r in rows]
    assert db.session.scalar(select(func.count()).select_from(Message)) == 3
    assert enqueue([r.id for r in rows]) == [rows[0].id]  # skipped rows are never queued


def test_enqueue_queues_ids_only(dctx, delivery_app):
    import redis

    ids = queued("+8613800000001", "+8613800000002")
    assert {m.status for m in db.session.scalars(select(Message))} == {QUEUED}
    raw = redis.Redis.from_url(delivery_app.config["REDIS_URL"]).lrange("send", 0, -1)
    assert len(raw) == 1
    task = json.loads(raw[0])
    assert task["headers"]["task"] == "delivery.send"
    assert json.loads(__import__("base64").b64decode(task["body"]))[0] == [ids]


def test_deliver_sends_once_and_records_the_exchange(dctx, sim, delivery_app):
    ids = queued("+8613800000001", "+8613800000002")
    assert deliver(ids)["accepted"] == 2
    assert deliver(ids)["accepted"] == 0  # a duplicate task finds nothing to claim
    assert sim.count() == 2
    messages = db.session.scalars(select(Message).order_by(Message.id)).all()
    assert [m.status for m in messages] == [SENT, SENT]
    assert {m.gateway_id for m in messages} == {m["sid"] for m in sim.accepted}
    assert all(m.attempts == 1 and m.sent_at and m.claimed_at for m in messages)
    sent = {m["to"]: m for m in sim.accepted}
    assert sent["+8613800000001"]["status_callback"] == status_callback_url(messages[0].id)
    exchange = db.session.scalars(select(GatewayExchange).where(GatewayExchange.message_id == ids[0])).one()
    assert exchange.response_status == 201 and exchange.method == "POST"
    assert exchange.request["data"]["Body"] == CHINESE and exchange.request["data"]["ValidityPeriod"]
    dumped = json.dumps([exchange.url, exchange.request, exchange.response_body])
    assert delivery_app.config["TWILIO_AUTH_TOKEN"] not in dumped
    assert delivery_app.config["TWILIO_ACCOUNT_SID"] not in dumped and "[redacted]" in dumped


def test_permanent_errors_fail_at_once_and_21610_opts_out(dctx, sim):
    sim.configure(invalid_numbers=["+8613800000009"], opted_out_numbers=["+8613800000008"])
    refused = deputy("赵六", "+8613800000008")
    refused_id = refused.id
    rows = create_messages([refused, "+8613800000009"], body=CHINESE)
    ids = enqueue([r.id for r in rows])
    summary = deliver(ids)
    assert summary["failed"] == 2 and summary["retry"] == 0
    db.session.expire_all()
    for row in db.session.scalars(select(Message)):
        assert row.status == FAILED and row.attempts == 1 and row.failed_at
    codes = {m.to: m.error_code for m in db.session.scalars(select(Message))}
    assert codes == {"+8613800000008": "21610", "+8613800000009": "21211"}
    assert db.session.get(Deputy, refused_id).opted_out
    assert sim.count() == 0


def test_transient_errors_retry_with_backoff_then_fail(dctx, sim, delivery_app):
    sim.configure(fail_rate=1.0)
    delivery_app.config["SMS_MAX_ATTEMPTS"] = 3
    [mid] = queued("+8613800000001")
    for attempt in (1, 2):
        assert deliver([mid])["retry"] == 1
        message = db.session.get(Message, mid)
        assert message.status == QUEUED and message.attempts == attempt and message.error_code == "20500"
        db.session.commit()
    assert deliver([mid])["failed"] == 1
    message = db.session.get(Message, mid)
    assert message.status == FAILED and message.attempts == 3
    assert message.error_message.startswith("gave up after 3 attempts")
    kinds = db.session.scalars(select(MessageEvent.kind).where(MessageEvent.message_id == mid)
                               .order_by(MessageEvent.id)).all()
    assert kinds == ["status", "retry", "retry", "status"]


def test_retry_after_the_notice_is_cancelled_is_never_sent(dctx, sim, delivery_app):
    """Cancel cannot touch a message in flight; if that call fails transiently the message goes
    back to `queued`, and the next pass must cancel it rather than send it."""
    nid = notice_row()
    sim.configure(fail_rate=1.0)
    [mid] = queued("+8613800000001", notice_id=nid)
    assert deliver([mid])["retry"] == 1
    db.session.execute(update(Notice).where(Notice.id == nid).values(status="cancelled"))
    db.session.commit()
    sim.configure(fail_rate=0.0)
    assert deliver([mid])["skipped"] == 1
    message = db.session.get(Message, mid)
    assert message.status == CANCELLED and message.error_message == "notice cancelled"
    assert sim.stats()["messages"] == 0
    assert db.session.scalars(select(MessageEvent.status).where(MessageEvent.message_id == mid)
                              .order_by(MessageEvent.id.desc())).first() == CANCELLED


def test_messages_of_a_live_notice_are_sent(dctx, sim, delivery_app):
    nid = notice_row()
    [mid] = queued("+8613800000001", notice_id=nid)
    assert deliver([mid])["accepted"] == 1
    assert db.session.get(Message, mid).status == SENT


def test_timeout_leaves_sending_for_reconciliation(dctx, sim, delivery_app):
    sim.configure(hang_rate=1.0, hang_seconds=2.0)
    delivery_app.config["TWILIO_HTTP_TIMEOUT"] = 0.5
    delivery_app.extensions.pop("sms_gateways", None)
    [mid] = queued("+8613800000001")
    assert deliver([mid])["unknown"] == 1
    message = db.session.get(Message, mid)
    assert message.status == SENDING and message.error_code == "timeout" and message.gateway_id is None


def test_cancel_only_unsent(dctx, sim):
    ids = queued("+8613800000001", "+8613800000002")
    deliver(ids[:1])
    assert cancel(ids, reason="notice cancelled") == ids[1:]
    assert [m.status for m in db.session.scalars(select(Message).order_by(Message.id))] == [SENT, "cancelled"]


def test_template_messages_are_refused_by_twilio_adapter():
    from notifier.gateways.base import Outbound

    gateway = TwilioGateway("AC" + "1" * 32, "token")
    with pytest.raises(ValueError):
        gateway.create_params(Outbound(1, "+8613800000001", FROM_NUMBER, template_code="SMS_1", template_params={}))
    assert gateway.create_params(Outbound(1, "+86138", "MG" + "1" * 32, body="x"))["messaging_service_sid"]
