"""The aliyun gateway (issue 12, item 1): the official SDK against the Dysmsapi simulator over
HTTP, through the platform's own sending, reconciliation and health."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from notifier.delivery.models import (
    DELIVERED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    GatewayExchange,
    Message,
)
from notifier.delivery.outbox import Recipient, create_messages, enqueue
from notifier.delivery.reconcile import reconcile
from notifier.delivery.sending import deliver, get_gateway
from notifier.extensions import db
from notifier.gateways.aliyun.adapter import (
    AliyunGateway,
    aliyun_number,
    classify_error,
    limit_window,
)
from notifier.gateways.base import (
    ACCEPTED,
    MISCONFIGURED,
    PERMANENT,
    THROTTLED,
    TRANSIENT,
    UNKNOWN,
    Outbound,
)
from notifier.gateways.models import MISCONFIGURED as MISCONFIGURED_HEALTH
from notifier.gateways.models import GatewayState
from notifier.timeutil import utcnow
from tests.gateways.aliyun.conftest import TEMPLATE

BODY = "【县人大常委会】张代表您好，周五上午九时开常委会"


def queued(n, prefix="+86139", params=None):
    rows = create_messages([Recipient(to=f"{prefix}{i:08d}", template_params=params or {"name": f"代表{i}",
                                                                                         "content": "周五上午九时开常委会"})
                            for i in range(n)], BODY, template_code=TEMPLATE)
    return enqueue([r.id for r in rows])


def statuses():
    db.session.commit()
    return dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all())


def test_error_codes_map_to_outcomes():
    assert classify_error("isv.BUSINESS_LIMIT_CONTROL") == THROTTLED
    assert classify_error("Throttling.User", 400) == THROTTLED
    assert classify_error("isv.MOBILE_NUMBER_ILLEGAL") == PERMANENT
    assert classify_error("isv.SMS_SIGNATURE_ILLEGAL") == MISCONFIGURED
    assert classify_error("isv.SMS_TEMPLATE_ILLEGAL") == MISCONFIGURED
    assert classify_error("SignatureDoesNotMatch", 400) == MISCONFIGURED
    assert classify_error("InvalidAccessKeyId.NotFound", 404) == MISCONFIGURED
    assert classify_error("ServiceUnavailable", 503) == TRANSIENT
    assert classify_error("InternalError", 500) == UNKNOWN  # it may have sent it: reconcile first
    assert classify_error("isp.SYSTEM_ERROR") == TRANSIENT
    assert aliyun_number("+8613912345678") == "13912345678"
    assert aliyun_number("+85251234567") == "85251234567"
    assert 0 < limit_window("触发号码天级流控Permits:50") <= 24 * 3600 + 300
    assert 0 < limit_window("触发分钟级流控Permits:1") <= 60


def test_templated_texts_go_out_once_with_our_id_and_without_86(actx, aliyun_sim):
    ids = queued(5)
    summary = deliver(ids)
    assert summary["accepted"] == 5, summary
    assert statuses() == {SENT: 5}
    sent = aliyun_sim.accepted
    assert sorted(int(s["OutId"]) for s in sent) == sorted(ids)
    assert {s["PhoneNum"] for s in sent} == {f"139{i:08d}" for i in range(5)}
    assert all(s["Content"].startswith("【县人大常委会】代表") and s["TemplateCode"] == TEMPLATE for s in sent)
    message = db.session.get(Message, ids[0])
    mine = next(s for s in sent if int(s["OutId"]) == ids[0])
    assert message.gateway == "aliyun" and message.gateway_id == f"{mine['PhoneNum']}:{mine['BizId']}"
    exchange = db.session.scalar(select(GatewayExchange).where(GatewayExchange.message_id == ids[0]))
    assert "SendSms" in exchange.url and json.loads(exchange.response_body)["Code"] == "OK"
    assert actx.config["ALIYUN_ACCESS_KEY_SECRET"] not in json.dumps(exchange.request)
    assert deliver(ids)["accepted"] == 0  # nothing is sent twice
    assert len(aliyun_sim.accepted) == 5


def test_a_bad_number_fails_alone_and_flow_control_only_slows(actx, aliyun_sim):
    aliyun_sim.configure(invalid_numbers="13900000002")
    ids = queued(4)
    deliver(ids)
    assert statuses() == {SENT: 3, FAILED: 1}
    bad = db.session.scalar(select(Message).where(Message.to == "+8613900000002"))
    assert bad.error_code == "isv.MOBILE_NUMBER_ILLEGAL"

    aliyun_sim.configure(throttle_rate=1.0)
    more = queued(3, prefix="+86137")
    summary = deliver(more)
    assert summary["held"] == 3 and summary["failed"] == 0, summary
    db.session.commit()
    held = db.session.scalars(select(Message).where(Message.id.in_(more))).all()
    assert {m.status for m in held} == {QUEUED} and {m.attempts for m in held} == {0}
    assert {m.error_code for m in held} == {"Throttling.User"}
    aliyun_sim.configure(throttle_rate=0.0)
    assert deliver(more)["accepted"] == 3


def test_an_unapproved_sign_name_stops_the_gateway(actx, aliyun_sim):
    aliyun_sim.configure(sign_names="别的签名")
    ids = queued(3)
    summary = deliver(ids)
    assert summary["held"] == 3 and summary["failed"] == 0, summary
    state = db.session.get(GatewayState, "aliyun")
    assert state.health == MISCONFIGURED_HEALTH and "isv.SMS_SIGNATURE_ILLEGAL" in state.detail
    assert aliyun_sim.accepted == []


def test_the_simulator_checks_the_sdk_signature(aliyun_sim):
    good = AliyunGateway(aliyun_sim.access_key_id, aliyun_sim.access_key_secret, "县人大常委会", aliyun_sim.url)
    wrong = AliyunGateway(aliyun_sim.access_key_id, "not-the-secret", "县人大常委会", aliyun_sim.url)
    unknown = AliyunGateway("LTAI-nobody", aliyun_sim.access_key_secret, "县人大常委会", aliyun_sim.url)
    item = Outbound(1, "+8613900000001", "", template_code=TEMPLATE, template_params={"name": "王", "content": "好"})
    assert good.send_many([item])[0].outcome == ACCEPTED
    refused = wrong.send_many([item])[0]
    assert (refused.outcome, refused.error_code) == (MISCONFIGURED, "SignatureDoesNotMatch")
    assert unknown.send_many([item])[0].error_code == "InvalidAccessKeyId.NotFound"
    assert len(aliyun_sim.accepted) == 1
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        wrong.check()
    good.check()


def test_send_batch_sms_carries_many_texts_in_one_call(actx, aliyun_sim):
    actx.config["ALIYUN_SMS_BATCH_SIZE"] = 50
    actx.extensions.pop("sms_gateways", None)
    aliyun_sim.configure(invalid_numbers="13900000007")
    ids = queued(30)
    assert deliver(ids)["accepted"] == 29
    calls = aliyun_sim.stats()["calls"]
    # The batch was refused for its one bad number, then each went alone; the good ones once.
    assert calls["SendBatchSms"] == 1 and calls["SendSms"] == 30
    assert len(aliyun_sim.accepted) == 29
    aliyun_sim.configure(invalid_numbers="")
    more = queued(40, prefix="+86137")
    assert deliver(more)["accepted"] == 40
    assert aliyun_sim.stats()["calls"]["SendBatchSms"] == 2
    sent = [s for s in aliyun_sim.accepted if s["PhoneNum"].startswith("137")]
    assert len({s["BizId"] for s in sent}) == 1 and len(sent) == 40
    assert len(set(db.session.scalars(select(Message.gateway_id).where(Message.id.in_(more))))) == 40


def test_a_lost_answer_is_settled_with_query_send_details(actx, aliyun_sim):
    """The call hangs past our timeout but Aliyun sent the text: QuerySendDetails finds it by
    OutId, and it is adopted, not sent again."""
    actx.config["ALIYUN_HTTP_TIMEOUT"] = 0.5
    actx.extensions.pop("sms_gateways", None)
    aliyun_sim.configure(hang_rate=1.0, hang_seconds=2.0, hang_accepts=True)
    ids = queued(2)
    assert deliver(ids)["unknown"] == 2
    assert statuses() == {SENDING: 2}
    aliyun_sim.configure(hang_rate=0.0)  # the call ended without an answer: it may be settled now
    assert [reconcile(mid) for mid in ids] == ["adopted", "adopted"]
    assert statuses() == {DELIVERED: 2}  # adopted with what QuerySendDetails says of it
    assert len(aliyun_sim.accepted) == 2
    adopted = db.session.get(Message, ids[0])
    assert adopted.gateway_id == f"{aliyun_number(adopted.to)}:out={ids[0]}"

    # A call that hung and did *not* reach Aliyun is sent again, once.
    aliyun_sim.configure(hang_rate=1.0, hang_accepts=False)
    lost = queued(1, prefix="+86137")
    assert deliver(lost)["unknown"] == 1
    aliyun_sim.configure(hang_rate=0.0)
    assert reconcile(lost[0]) == "requeued"
    assert deliver(lost)["accepted"] == 1
    assert len([s for s in aliyun_sim.accepted if s["PhoneNum"].startswith("137")]) == 1


def test_fetch_reads_a_texts_status(actx, aliyun_sim):
    ids = queued(1)
    deliver(ids)
    assert aliyun_sim.wait_for_reports(5)
    message = db.session.get(Message, ids[0])
    remote = get_gateway("aliyun").fetch(message.gateway_id)
    assert remote.status == "delivered" and remote.gateway_id == message.gateway_id
    found = get_gateway("aliyun").find_sent(message.to, message.body, utcnow() - timedelta(minutes=5),
                                            message_id=ids[0])
    assert len(found) == 1 and found[0].to == message.to


def test_a_text_not_composed_from_a_template_fails_alone_and_the_gateway_stays_up(actx, aliyun_sim):
    actx.config["ALIYUN_SMS_BATCH_SIZE"] = 10
    actx.extensions.pop("sms_gateways", None)
    plain = enqueue([r.id for r in create_messages(["+8613900000001", "+8613900000002"], BODY)])
    templated = queued(2, prefix="+86137")
    deliver(plain + templated)
    db.session.commit()
    assert {m.error_code for m in db.session.scalars(select(Message).where(Message.id.in_(plain)))} == {"no_template"}
    assert statuses() == {FAILED: 2, SENT: 2}
    state = db.session.get(GatewayState, "aliyun")
    assert state is None or state.health != MISCONFIGURED_HEALTH


def test_a_number_at_its_daily_limit_waits_for_tomorrow_and_slows_nobody(actx, aliyun_sim):
    from notifier.delivery.sending import LONGEST_COUNTDOWN, get_limiter
    from notifier.reports.errors import explain

    aliyun_sim.configure(per_number_per_day=2)
    ids = [queued(1, prefix="+86139")[0] for _ in range(3)]  # three texts to one number
    for mid in ids:
        deliver([mid])
    db.session.commit()
    waiting = db.session.get(Message, ids[2])
    assert waiting.status == QUEUED and waiting.attempts == 0, (waiting.status, waiting.error_code)
    assert waiting.error_code == "isv.BUSINESS_LIMIT_CONTROL" and "天级" in waiting.error_message
    assert waiting.queued_at > utcnow() + timedelta(seconds=LONGEST_COUNTDOWN)  # the sweeper's, at the limit's end
    assert "上限" in str(explain(waiting.error_code).title)  # shown as a limit (in Chinese), not a failure
    limiter = get_limiter("aliyun")
    assert limiter.effective_rate("县人大常委会") == pytest.approx(actx.config["SMS_RATE_LIMIT"])
    assert len(aliyun_sim.accepted) == 2
    more = queued(3, prefix="+86137")
    assert deliver(more)["accepted"] == 3  # other numbers go on at full pace
