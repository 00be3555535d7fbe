"""A misconfigured gateway (issue 10, item 2): its texts wait, admins see why, and sending resumes
by itself when the gateway answers again. Through the simulator over HTTP and a real worker."""
import pytest
from sqlalchemy import func, select

from notifier.audit.models import AuditEvent
from notifier.delivery.models import DELIVERED, QUEUED, Message
from notifier.delivery.outbox import create_messages, enqueue
from notifier.delivery.reconcile import sweep
from notifier.delivery.sending import deliver
from notifier.extensions import db
from notifier.gateways import health
from notifier.gateways.models import MISCONFIGURED, UP, GatewayState
from tests.conftest import csrf_token, wait_until

BODY = "【县人大常委会】请各位代表于本周五上午九时参加常委会会议。"


def queued(n):
    rows = create_messages([{"to": f"+86139{i:08d}", "body": BODY} for i in range(n)])
    return enqueue([r.id for r in rows])


def statuses():
    db.session.commit()
    return dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all())


def test_a_rotated_token_holds_texts_and_they_leave_when_it_answers_again(dctx, sim):
    sim.configure(auth_token="rotated-by-someone")  # our token no longer matches
    ids = queued(5)
    summary = deliver(ids)
    assert summary["held"] == 5 and summary["failed"] == 0, summary
    assert statuses() == {QUEUED: 5}
    db.session.commit()
    assert db.session.scalar(select(func.max(Message.attempts))) == 0  # not a try of the text's
    state = db.session.get(GatewayState, "twilio")
    assert state.health == MISCONFIGURED and "20003" in state.detail
    assert deliver(ids)["held"] == 5  # nothing goes out while it is misconfigured
    assert sim.accepted == []

    sim.configure(auth_token=dctx.config["TWILIO_AUTH_TOKEN"])  # fixed at the gateway's side
    db.session.execute(db.update(GatewayState).values(checked_at=None))
    db.session.commit()
    assert sweep()["gateways_recovered"] == 1
    assert db.session.get(GatewayState, "twilio").health == UP
    assert deliver(ids)["accepted"] == 5
    assert len(sim.accepted) == 5


@pytest.mark.slow
def test_through_a_worker_no_text_fails_while_the_gateway_refuses_us(dctx, workers, sim_process):
    sim_process.configure(auth_token="rotated-by-someone")
    workers.start(beat=True, GATEWAY_PROBE_SECONDS=1)
    queued(40)
    wait_until(lambda: db.session.get(GatewayState, "twilio") is not None
               and db.session.get(GatewayState, "twilio").health == MISCONFIGURED, 60,
               what="the gateway marked misconfigured")
    wait_until(lambda: set(statuses()) == {QUEUED}, 30, what="every text back in the queue, none failed")
    sim_process.configure(auth_token=dctx.config["TWILIO_AUTH_TOKEN"])
    wait_until(lambda: statuses().get(DELIVERED) == 40, 120, what="all delivered after the fix")
    assert len(sim_process.accepted) == 40


def test_the_banner_and_the_gateways_page(delivery_app, client, login, make_user, sim):
    admin, composer = make_user("admin"), make_user("composer")
    with delivery_app.app_context():
        health.mark("twilio", MISCONFIGURED, "20003: Authenticate")
    login(composer)
    page = client.get("/").get_data(as_text=True)
    assert "gateway-banner" in page and "20003: Authenticate" in page
    assert client.get("/gateways/").status_code == 403  # only admins manage gateways
    token = csrf_token(client, "/")
    assert client.post("/gateways/twilio/pause", data={"paused": "1", "csrf_token": token}).status_code == 403

    client.post("/logout", data={"csrf_token": token})
    login(admin)
    page = client.get("/gateways/").get_data(as_text=True)
    assert 'data-gateway="twilio"' in page and "20003: Authenticate" in page
    token = csrf_token(client, "/gateways/")
    assert client.post("/gateways/twilio/pause", data={"paused": "1"}).status_code == 400  # no CSRF token
    response = client.post("/gateways/twilio/check", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200  # the simulator answers our token
    with delivery_app.app_context():
        assert db.session.get(GatewayState, "twilio").health == UP
    assert "gateway-banner" not in client.get("/").get_data(as_text=True)

    client.post("/gateways/twilio/pause", data={"paused": "1", "csrf_token": token})
    with delivery_app.app_context():
        assert db.session.get(GatewayState, "twilio").paused
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("gateway.%"))).all()
        assert actions == ["gateway.pause"]
    assert "gateway-banner" in client.get("/").get_data(as_text=True)
    client.post("/gateways/twilio/pause", data={"paused": "0", "csrf_token": token})
    with delivery_app.app_context():
        assert not db.session.get(GatewayState, "twilio").paused


def test_check_now_on_a_gateway_without_its_settings_says_so(delivery_app, client, login, make_user, monkeypatch):
    monkeypatch.setitem(delivery_app.config, "TWILIO_ACCOUNT_SID", None)
    delivery_app.extensions.pop("sms_gateways", None)
    login(make_user("admin"))
    token = csrf_token(client, "/gateways/")
    response = client.post("/gateways/twilio/check", data={"csrf_token": token})
    assert response.status_code == 302  # back to the page, not a 500
    with delivery_app.app_context():
        state = db.session.get(GatewayState, "twilio")
        assert state.health == MISCONFIGURED and "TWILIO_ACCOUNT_SID" in state.detail
    delivery_app.extensions.pop("sms_gateways", None)
