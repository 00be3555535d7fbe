"""The outbox and one send pass (`deliver`), called directly against the simulator over HTTP."""
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, update

from notifier.delivery.clock import db_now
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
from notifier.delivery.sending import deliver, get_limiter, status_callback_url
from notifier.extensions import db
from notifier.gateways.base import MISCONFIGURED, PERMANENT, THROTTLED, TRANSIENT
from notifier.gateways.twilio.adapter import TwilioGateway, classify_error
from notifier.notices.models import Notice
from notifier.roster.models import Deputy
from notifier.roster.service import set_opted_out
from notifier.timeutil import utcnow
from tests.delivery.conftest import FROM_NUMBER

CHINESE = "【县人大常委会】请各位代表于本周五上午九时参加常委会第十二次会议。"


def deputy(name, phone, **kwargs):
    row = Deputy(name=name, phone=phone, **kwargs)
    db.session.add(row)
    db.session.commit()
    return row


def notice_row(status="sending", urgent=False):
    row = Notice(title="会议通知", body=CHINESE, status=status, urgent=urgent)
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


def test_accepted_calls_keep_a_sample_of_exchanges_and_every_failure_its_own(dctx, sim, delivery_app):
    delivery_app.config["SMS_EXCHANGE_SAMPLE"] = 0.0
    sim.configure(invalid_numbers=["+8613800000009"])
    ids = queued("+8613800000001", "+8613800000002", "+8613800000009")
    assert deliver(ids)["accepted"] == 2
    kept = db.session.scalars(select(GatewayExchange.message_id)).all()
    assert kept == [ids[2]]  # only the refused call's
    delivery_app.config["SMS_EXCHANGE_SAMPLE"] = 1.0
    more = queued("+8613800000003")
    deliver(more)
    assert db.session.scalar(select(func.count()).where(GatewayExchange.message_id == more[0])) == 1


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


def test_transient_errors_retry_with_backoff_and_a_count_is_only_a_safety_net(dctx, sim, delivery_app):
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


def rows():
    db.session.commit()
    return db.session.scalars(select(Message).order_by(Message.id)).all()


def test_transient_errors_give_up_by_time_since_the_first_try_not_by_count(dctx, sim, delivery_app):
    sim.configure(fail_rate=1.0)
    delivery_app.config["SMS_MAX_ATTEMPTS"] = 100
    delivery_app.config["SMS_GIVE_UP_AFTER_HOURS"] = 4
    [mid] = queued("+8613800000001")
    for _ in range(8):  # more tries than the old count allowed: still trying
        assert deliver([mid])["retry"] == 1
    [message] = rows()
    assert message.status == QUEUED and message.attempts == 8
    first = message.first_attempt_at
    assert first is not None and abs((db_now() - first).total_seconds()) < 60  # the database's clock
    # Four hours after the first try, the next transient failure is the last.
    db.session.execute(update(Message).values(first_attempt_at=db_now() - timedelta(hours=4, minutes=1)))
    db.session.commit()
    assert deliver([mid])["failed"] == 1
    [message] = rows()
    assert message.status == FAILED and message.error_message.startswith("gave up after 4 h of trying (9 attempts)")


def test_throttled_texts_slow_the_limiter_and_never_fail(dctx, sim, delivery_app):
    """A 429 is "slow down", not a failure: however old the text and however many its tries."""
    sim.configure(rate_cap=3)  # the gateway takes 3 at once, then 3 a second; we are set to 1,000/s
    ids = queued(*[f"+86138000000{i:02d}" for i in range(12)])
    db.session.execute(update(Message).values(attempts=99, first_attempt_at=db_now() - timedelta(hours=30)))
    db.session.commit()
    before = utcnow()
    summary = deliver(ids)
    assert summary["failed"] == 0 and summary["retry"] == 0
    assert summary["accepted"] + summary["held"] == 12 and summary["held"] >= 8
    messages = rows()
    assert {m.status for m in messages} == {SENT, QUEUED}
    held = [m for m in messages if m.status == QUEUED]
    assert all(m.attempts == 99 and m.error_code == "20429" for m in held)  # a 429 is not a try
    # They come back when the lowered pace has room for them, not at once.
    assert all(m.queued_at >= before + timedelta(seconds=0.5) for m in held)
    assert sim.stats()["rate_limited"] == len(held)
    limiter = get_limiter("twilio")
    # Cut once for the whole burst (to 70%), then raised a hair by the few texts accepted.
    assert 700.0 <= limiter.effective_rate(FROM_NUMBER) < 701.0
    kinds = db.session.scalars(select(MessageEvent.kind).where(MessageEvent.message_id == held[0].id)
                               .order_by(MessageEvent.id)).all()
    assert kinds == ["status", "held"]


def test_a_deputy_who_opted_out_since_the_row_was_written_is_skipped(dctx, sim):
    stays, leaves, retires = (deputy("张三", "+8613800000001"), deputy("李四", "+8613800000002"),
                              deputy("王五", "+8613800000003"))
    nid = notice_row()
    rows_ = create_messages([stays, leaves, retires], body=CHINESE, notice_id=nid)
    ids = enqueue([r.id for r in rows_])
    set_opted_out(leaves, True, "sms:退订", actor="sms")  # replied 退订 while the notice was leaving
    db.session.execute(update(Deputy).where(Deputy.id == retires.id).values(active=False))
    db.session.commit()
    summary = deliver(ids)
    assert summary["accepted"] == 1 and summary["opted_out"] == 2
    assert [(m.status, m.error_message) for m in rows()] == [(SENT, None), (SKIPPED, "opted out"),
                                                              (SKIPPED, "inactive")]
    assert [m["to"] for m in sim.accepted] == ["+8613800000001"]


def _quiet_from_now(app, minutes=60):
    """QUIET_HOURS starting a minute ago, local time."""
    local = utcnow().astimezone(ZoneInfo(app.config["TIMEZONE"]))
    start, end = local - timedelta(minutes=1), local + timedelta(minutes=minutes)
    app.config["QUIET_HOURS"] = f"{start:%H:%M}-{end:%H:%M}"
    return datetime.combine(end.date(), end.time().replace(second=0, microsecond=0), tzinfo=end.tzinfo)


@pytest.fixture
def quiet_app(delivery_app):
    yield delivery_app
    delivery_app.config["QUIET_HOURS"] = ""


def test_quiet_hours_hold_a_non_urgent_notice_until_they_end(dctx, sim, quiet_app):
    import redis

    ends = _quiet_from_now(quiet_app)
    calm, urgent = notice_row(), notice_row(urgent=True)
    [held] = queued("+8613800000001", notice_id=calm)
    [rushed] = queued("+8613800000002", notice_id=urgent)
    [one_off] = queued("+8613800000003")  # a direct text, not a notice: staff sent it on purpose
    broker = redis.Redis.from_url(quiet_app.config["REDIS_URL"])
    broker.flushdb()
    summary = deliver([held, rushed, one_off])
    assert summary["quiet"] == 1 and summary["accepted"] == 2
    message = db.session.get(Message, held)
    assert message.status == QUEUED and message.queued_at == ends and message.attempts == 0
    assert message.first_attempt_at is None
    assert sorted(m["to"] for m in sim.accepted) == ["+8613800000002", "+8613800000003"]
    # Its task waits, but never longer than a quarter of the broker's visibility timeout (an ETA
    # past it is delivered twice): it looks again then, and the sweeper has the row meanwhile.
    [task] = [json.loads(raw) for raw in broker.lrange("send", 0, -1)]
    eta = datetime.fromisoformat(task["headers"]["eta"])
    cap = timedelta(seconds=quiet_app.config["BROKER_VISIBILITY_TIMEOUT"] / 4)
    assert utcnow() + cap - timedelta(minutes=1) < eta <= utcnow() + cap < ends
    assert deliver([held])["quiet"] == 1  # looked at again inside the hours: still waits
    events = db.session.scalars(select(MessageEvent.kind).where(MessageEvent.message_id == held)).all()
    assert events.count("held") == 1
    quiet_app.config["QUIET_HOURS"] = ""  # the morning
    assert deliver([held])["accepted"] == 1


def test_a_notice_leaving_at_21_59_stops_at_22_00(dctx, sim, quiet_app):
    quiet_app.config["QUIET_HOURS"] = "22:00-07:00"
    nid = notice_row()
    ids = queued(*[f"+86138000000{i:02d}" for i in range(4)], notice_id=nid)
    zone = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime(2026, 12, 1, 21, 59, 58, tzinfo=zone), tick=True):
        assert deliver(ids[:2])["accepted"] == 2
    with time_machine.travel(datetime(2026, 12, 1, 22, 0, 1, tzinfo=zone), tick=True):
        assert deliver(ids[2:])["quiet"] == 2
    held = [m for m in rows() if m.status == QUEUED]
    assert [m.id for m in held] == ids[2:]
    assert {m.queued_at for m in held} == {datetime(2026, 12, 2, 7, 0, tzinfo=zone)}
    assert sim.count() == 2
