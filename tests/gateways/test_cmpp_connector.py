"""The `cmpp` gateway end to end: real Celery workers hand texts to the `notifier cmpp` connector
process, which talks CMPP over TCP to the simulated ISMG (its own process); reports and replies
come back the same way. Failover to Twilio (its simulator over HTTP) when the ISMG goes away."""
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from notifier.delivery.models import DELIVERED, FINAL_STATUSES, Message, MessageEvent, MessagePart
from notifier.delivery.outbox import create_messages, enqueue
from notifier.extensions import db
from notifier.gateways import health
from notifier.notices.models import Notice
from notifier.replies.models import InboundMessage
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow
from tests.conftest import wait_until
from tests.gateways.conftest import cmpp_env
from tests.simulator.cmpp_process import CmppSim

pytestmark = pytest.mark.slow
SHORT = "【县人大常委会】请各位代表于本周五上午九时参加常委会会议。第{i}号"
LONG = "【县人大常委会】各位代表：县人大常委会定于3月15日上午9时在县行政中心三楼会议室召开第二十次会议，审议县人民政府关于2026年国民经济和社会发展计划执行情况的报告，请准时参加。第{i}号"


def statuses():
    db.session.commit()
    return dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all())


def all_final(n):
    counts = statuses()
    return sum(v for k, v in counts.items() if k in FINAL_STATUSES) == n and counts


def outbox(n, body=SHORT, start=0):
    rows = create_messages([{"to": f"+86139{i:08d}", "body": body.format(i=i)} for i in range(start, start + n)])
    return enqueue([r.id for r in rows])


def texts_at(ismg):
    return Counter((m["dest"][0], m["text"]) for m in ismg.messages() if m["complete"])


def test_a_few_hundred_texts_through_flow_control_and_dropped_links(cmpp_app, workers, ismg, connector):
    # The ISMG takes 25 a second and says "slow down" (Result 8) beyond; links drop now and then.
    ismg.configure(rate_cap=25, drop_rate=0.01, drop_accepts=False, latency_ms=5)
    env = cmpp_env(ismg)
    workers.start(beat=True, CMPP_RATE_LIMIT=200, **env)
    connector(CMPP_RATE_LIMIT=200).start()
    n_short, n_long = 250, 50
    outbox(n_short)
    outbox(n_long, body=LONG, start=n_short)  # 2 parts each, one report per part
    counts = wait_until(lambda: all_final(n_short + n_long), 240, what="every text final")
    assert counts == {DELIVERED: n_short + n_long}, counts  # none lost, none failed by "slow down"
    stats = ismg.stats()
    assert stats.get("flow_control_rate", 0) > 0 and stats.get("drops", 0) > 0, stats
    # Sent again only what the ISMG never answered: a SUBMIT still in flight when its link dropped
    # may have been taken (CMPP cannot tell); everything the ISMG answered went once.
    at_ismg = texts_at(ismg)
    assert len(at_ismg) == n_short + n_long
    twice = {text for (dest, text), count in at_ismg.items() if count > 1}
    db.session.commit()
    unanswered = set(db.session.scalars(select(Message.body).join(MessageEvent, MessageEvent.message_id == Message.id)
                                        .where(MessageEvent.detail.like("%dropped with it in flight%"))))
    assert twice <= unanswered, twice - unanswered
    assert set(db.session.scalars(select(Message.gateway))) == {"cmpp"}
    # Every part of every long text reported, and the text counts as delivered once all did.
    long_ids = db.session.scalars(select(Message.id).where(Message.segments == 2)).all()
    assert len(long_ids) == n_long
    parts = db.session.execute(select(MessagePart.message_id, func.count()).where(MessagePart.message_id.in_(long_ids))
                               .group_by(MessagePart.message_id)).all()
    assert {count for _, count in parts} == {2}


def test_flow_control_slows_the_connector_and_every_text_goes_once(cmpp_app, workers, ismg, connector):
    ismg.configure(rate_cap=20, latency_ms=5)
    workers.start(beat=True, **cmpp_env(ismg))
    connector(CMPP_RATE_LIMIT=150).start()
    n = 300
    outbox(n)
    counts = wait_until(lambda: all_final(n), 240, what="every text final")
    assert counts == {DELIVERED: n}, counts
    at_ismg = texts_at(ismg)
    assert len(at_ismg) == n and max(at_ismg.values()) == 1, "a text reached the ISMG twice"
    assert ismg.stats().get("flow_control_rate", 0) > 0
    # The limiter learnt the ISMG's pace: well under the configured 150 a second.
    with cmpp_app.app_context():
        from notifier.delivery.sending import get_limiter

        assert get_limiter("cmpp").effective_rate(ismg.baseline["src_id"]) < 150


def test_replies_thread_by_extension_to_the_right_notice(cmpp_app, workers, ismg, connector):
    workers.start(**cmpp_env(ismg))
    connector().start()
    deputy = Deputy(name="张三", phone="+8613900000001")
    db.session.add(deputy)
    db.session.flush()
    notices = []
    for code, title in (("11", "常委会会议"), ("12", "代表视察")):
        notice = Notice(title=title, body=title, category="meeting", source="congress", reply_mode="confirm",
                        reply_code=code, status="sending", sending_at=utcnow(),
                        reply_deadline=utcnow() + timedelta(days=3))
        db.session.add(notice)
        db.session.flush()
        notices.append(notice.id)
    db.session.commit()
    for notice_id in notices:
        rows = create_messages([db.session.get(Deputy, deputy.id)], f"【县人大常委会】第{notice_id}号通知，回复1确认，2请假",
                               notice_id=notice_id)
        enqueue([r.id for r in rows])
    wait_until(lambda: statuses().get(DELIVERED) == 2, 60, what="both delivered")
    src = ismg.baseline["src_id"]
    assert sorted(m["src_id"] for m in ismg.messages()) == [src + "11", src + "12"]

    # The deputy answers both with a bare digit, to the numbers the texts came from.
    ismg.mo("13900000001", src + "12", "2 出差在外")
    ismg.mo("8613900000001", src + "11", "1", msg_fmt=0)
    wait_until(lambda: db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2 or
               db.session.commit(), 30, what="both replies stored")
    replies = {r.notice_id: r for r in db.session.scalars(select(InboundMessage))}
    assert replies[notices[0]].kind == "confirm" and replies[notices[0]].deputy_id == deputy.id
    assert replies[notices[1]].kind == "decline" and replies[notices[1]].body == "2 出差在外"


def test_a_connector_restart_loses_nothing_and_sends_nothing_twice(cmpp_app, workers, ismg, connector):
    ismg.configure(latency_ms=20)
    workers.start(beat=True, **cmpp_env(ismg))
    first = connector(CMPP_RATE_LIMIT=40).start()
    n = 200
    outbox(n)
    wait_until(lambda: statuses().get(DELIVERED, 0) >= 40, 60, interval=0.1, what="sending under way")
    first.stop(signal.SIGTERM)  # as docker stop: in-flight texts are answered and recorded first
    connector(CMPP_RATE_LIMIT=40).start()
    counts = wait_until(lambda: all_final(n), 120, what="every text final after the restart")
    assert counts == {DELIVERED: n}, counts
    at_ismg = texts_at(ismg)
    assert len(at_ismg) == n and max(at_ismg.values()) == 1


def test_failover_to_twilio_when_the_ismg_goes_and_back_when_it_returns(cmpp_app, workers, ismg, connector,
                                                                         sim_process, tmp_path):
    env = cmpp_env(ismg, gateways="cmpp,twilio")
    cmpp_app.config["SMS_GATEWAY"] = "cmpp,twilio"
    cmpp_app.extensions.pop("sms_gateways", None)
    workers.start(beat=True, **env)
    connector(**env).start()
    wait_until(lambda: health.views()["cmpp"].available, 30, what="the connector's heartbeat")
    outbox(30)
    wait_until(lambda: statuses().get(DELIVERED) == 30, 60, what="the first 30 through the ISMG")
    assert len(texts_at(ismg)) == 30 and sim_process.accepted == []

    port = ismg.port
    ismg.stop()  # the ISMG is gone: the connector cannot log in again
    outbox(30, start=30)
    wait_until(lambda: statuses().get(DELIVERED) == 60, 120, what="the next 30 through Twilio")
    twilio = Counter((m["to"], m["body"]) for m in sim_process.accepted)
    assert len(twilio) == 30 and max(twilio.values()) == 1
    db.session.commit()
    assert dict(db.session.execute(select(Message.gateway, func.count()).group_by(Message.gateway)).all()) == {
        "cmpp": 30, "twilio": 30}

    back = CmppSim("--port", str(port))  # the ISMG returns on its address; the connector logs in again
    try:
        time.sleep(1)
        wait_until(lambda: "logged in" in open(tmp_path / "connector-1.log").read().split("cannot log in")[-1], 60,
                   what="the connector logged in again")
        # Texts go back to the ISMG once the platform sees the connector's heartbeat again (within
        # a second of the login); until then they rightly go on through Twilio.
        wait_until(lambda: health.views()["cmpp"].available, 30, what="the connector's heartbeat again")
        outbox(10, start=60)
        wait_until(lambda: statuses().get(DELIVERED) == 70, 90, what="the last 10")
        assert len(texts_at(back)) == 10 and len(sim_process.accepted) == 30
    finally:
        back.stop()
