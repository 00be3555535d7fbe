"""Aliyun's pushes (issue 12, item 4): receipts and replies as JSON arrays to the secret path,
from the simulator over HTTP and forged by hand."""
import pytest
from sqlalchemy import func, select

from notifier.delivery.models import DELIVERED, UNDELIVERED, Message, MessageEvent
from notifier.delivery.outbox import Recipient, create_messages, enqueue
from notifier.delivery.sending import deliver
from notifier.extensions import db
from notifier.replies.models import InboundMessage
from tests.conftest import wait_until
from tests.gateways.aliyun.conftest import TEMPLATE, TOKEN

REPORT = f"/webhooks/aliyun/{TOKEN}/report"
UP = f"/webhooks/aliyun/{TOKEN}/up"


def sent_texts(n, prefix="+86139"):
    rows = create_messages([Recipient(to=f"{prefix}{i:08d}", template_params={"name": "李", "content": "开会"})
                            for i in range(n)], "【县人大常委会】李代表您好，开会", template_code=TEMPLATE)
    ids = enqueue([r.id for r in rows])
    assert deliver(ids)["accepted"] == n
    return ids


def report(message, success=True, **extra):
    number, biz_id = message.gateway_id.split(":")
    return {"phone_number": number, "send_time": "2026-12-02 09:00:00", "report_time": "2026-12-02 09:00:05",
            "success": success, "err_code": "DELIVERED" if success else "MK:0001",
            "err_msg": "用户接收成功" if success else "失败", "sms_size": "1", "biz_id": biz_id,
            "out_id": str(message.id), **extra}


@pytest.fixture
def api_client(client, make_user, token_for):
    people = {role: make_user(role) for role in ("composer", "approver")}
    headers = {role: token_for(u) for role, u in people.items()}

    def call(method, path, role="composer", **kwargs):
        return client.open(f"/api/v1{path}", method=method, headers=headers[role], **kwargs)

    return call


@pytest.fixture
def pushes_to(actx, live_url, aliyun_sim):
    aliyun_sim.configure(report_url=f"{live_url}{REPORT}", up_url=f"{live_url}{UP}")
    return aliyun_sim


def test_receipts_pushed_in_batches_and_twice_change_nothing_the_second_time(actx, pushes_to):
    pushes_to.configure(duplicate_rate=1.0, push_batch=7, undelivered_numbers="13900000003")
    ids = sent_texts(20)
    wait_until(lambda: db.session.scalar(select(func.count()).where(Message.status.in_((DELIVERED, UNDELIVERED))))
               == 20, 20, what="every receipt applied")
    assert pushes_to.wait_for_reports(10)
    stats = pushes_to.stats()["pushed"]
    assert stats["report_items"] == 40 and stats["report"] >= 6  # every receipt twice, 7 a push
    db.session.commit()
    counts = dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all())
    assert counts == {DELIVERED: 19, UNDELIVERED: 1}
    events = db.session.scalar(select(func.count()).select_from(MessageEvent).where(
        MessageEvent.message_id.in_(ids), MessageEvent.source == "callback"))
    assert events == 20  # the repeats left no trace


def test_forged_and_malformed_pushes_are_refused(actx, client):
    ids = sent_texts(1)
    message = db.session.get(Message, ids[0])
    good = [report(message)]
    assert client.post(f"/webhooks/aliyun/not-{TOKEN}/report", json=good).status_code == 403
    assert client.post("/webhooks/aliyun//report", json=good).status_code in (403, 404, 405)
    for bad in ({"phone_number": "1"}, [], [{"success": "yes"}], [{**good[0], "success": "true"}],
                [{**good[0], "phone_number": "13900000000; drop"}], "[not json"):
        response = (client.post(REPORT, data=bad, content_type="application/json") if isinstance(bad, str)
                    else client.post(REPORT, json=bad))
        assert response.status_code == 400, bad
    db.session.commit()
    assert db.session.get(Message, ids[0]).status != DELIVERED

    actx.config["ALIYUN_CALLBACK_ALLOW"] = "10.0.0.0/8, 100.64.0.1"
    assert client.post(REPORT, json=good).status_code == 403  # the test client is 127.0.0.1
    actx.config["ALIYUN_CALLBACK_ALLOW"] = "127.0.0.0/8"
    response = client.post(REPORT, json=good)
    assert response.status_code == 200 and response.get_json() == {"code": 0, "msg": "接收成功"}
    db.session.commit()
    assert db.session.get(Message, ids[0]).status == DELIVERED


def test_a_reply_pushed_twice_is_stored_once(actx, client):
    item = {"phone_number": "13900000000", "send_time": "2026-12-02 09:01:00", "content": "1",
            "sign_name": "县人大常委会", "dest_code": "", "sequence_id": 900001}
    for _ in range(2):
        response = client.post(UP, json=[item])
        assert response.get_json() == {"code": 0, "msg": "接收成功"}
    assert client.post(f"/webhooks/aliyun/x{TOKEN}/up", json=[item]).status_code == 403
    assert client.post(UP, json=[{**item, "sequence_id": "abc"}]).status_code == 400
    db.session.commit()
    rows = db.session.scalars(select(InboundMessage)).all()
    assert len(rows) == 1 and rows[0].from_number == "+8613900000000" and rows[0].body == "1"


def test_deputies_reply_through_the_simulator_and_replies_thread_and_tally(actx, api_client, pushes_to):
    """A templated notice asks for 1/2; deputies answer through the simulator's SmsUp pushes (some
    with the #code, some bare): each reply threads to the notice by number, once."""
    from notifier.notices.dispatch import dispatch_notice
    from notifier.replies.service import tally_counts
    from tests.gateways.aliyun.test_templates import TEXT
    from tests.notices.conftest import add_deputies

    add_deputies(4, levels=("county",))
    pushes_to.configure(templates={"SMS_480000001": TEXT})
    assert api_client("POST", "/templates", json={"code": "SMS_480000001", "text": TEXT}).status_code == 201
    notice = api_client("POST", "/notices", json={"title": "会议", "template": "SMS_480000001",
                                                  "params": {"content": "周五开会，"},
                                                  "audience": {"levels": ["county"]}, "reply": "confirm"}).json
    api_client("POST", f"/notices/{notice['id']}/submit")
    code = api_client("POST", f"/notices/{notice['id']}/approve", role="approver").json["reply_code"]
    dispatch_notice(notice["id"])
    deliver(db.session.scalars(select(Message.id).where(Message.notice_id == notice["id"])).all())
    pushes_to.reply("13900000000", "1")
    pushes_to.reply("13900000001", f"2 #{code} 出差")
    pushes_to.reply("13900000002", "1")
    item = pushes_to.reply("13900000003", "收到，1")
    pushes_to.simulator.push("up", [item])  # Aliyun pushes it again
    wait_until(lambda: db.session.scalar(select(func.count()).select_from(InboundMessage)) == 4, 15,
               what="four replies stored")
    db.session.commit()
    assert {r.notice_id for r in db.session.scalars(select(InboundMessage))} == {notice["id"]}
    tally = tally_counts(notice["id"])
    assert tally["confirmed"] == 3 and tally["declined"] == 1, tally


def test_the_simulator_plays_deputies_replying_on_its_own(actx, pushes_to):
    """With reply_rate, delivered texts are answered by the simulated deputies: pushed to /up."""
    pushes_to.configure(reply_rate=1.0, reply_after_ms="10", reply_texts="1")
    sent_texts(3)
    wait_until(lambda: db.session.scalar(select(func.count()).select_from(InboundMessage)) == 3, 15,
               what="three replies pushed")
    db.session.commit()
    assert {r.body for r in db.session.scalars(select(InboundMessage))} == {"1"}


def test_the_demo_can_run_on_the_aliyun_simulator(tmp_path):
    from notifier.demo import demo_environment

    env = demo_environment(str(tmp_path), 5000, 6379, 8766, gateway="aliyun")
    assert env["SMS_GATEWAY"] == "aliyun" and env["ALIYUN_SMS_ENDPOINT"] == "http://127.0.0.1:8766"
    assert len(env["ALIYUN_CALLBACK_TOKEN"]) >= 24
    assert demo_environment(str(tmp_path), 5000, 6379, 8766, gateway="aliyun")["ALIYUN_CALLBACK_TOKEN"] == \
        env["ALIYUN_CALLBACK_TOKEN"]  # kept across restarts, like the secret key


def test_the_callback_settings_are_checked_at_start():
    from notifier.settings_check import SettingsError, check_settings

    base = {"SMS_GATEWAY": "aliyun", "DEFAULT_LOCALE": "zh_Hans_CN", "LANGUAGES": {"zh_Hans_CN": "中文"}}
    check_settings({**base, "ALIYUN_CALLBACK_TOKEN": TOKEN, "ALIYUN_CALLBACK_ALLOW": "47.0.0.0/8,100.100.1.1"})
    with pytest.raises(SettingsError) as raised:
        check_settings({**base, "ALIYUN_CALLBACK_TOKEN": "short", "ALIYUN_CALLBACK_ALLOW": "somewhere"})
    assert "ALIYUN_CALLBACK_TOKEN" in str(raised.value) and "ALIYUN_CALLBACK_ALLOW" in str(raised.value)
