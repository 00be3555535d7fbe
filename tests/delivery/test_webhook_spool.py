"""Issue 10, item 7: every webhook request is kept before it is answered. With the database away
(the web app reaches PostgreSQL through a proxy that the test cuts), signed requests are spooled
to disk and answered 200; `notifier webhooks drain` handles them once the database is back, and a
replay changes nothing. Several processes may drain one spool: each entry is handled once."""
import json
import multiprocessing
import os

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from notifier import create_app
from notifier.audit.models import AuditEvent
from notifier.delivery.models import DELIVERED, SENT, Message, MessageEvent
from notifier.delivery.outbox import create_messages
from notifier.delivery.spool import Spool, Unavailable
from notifier.extensions import db
from notifier.replies.models import InboundMessage
from notifier.roster.models import Deputy
from notifier.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.delivery.tcpproxy import TcpProxy
from tests.notices.conftest import add_deputies

DEPUTY = "+8613900000000"
OUR_NUMBER = "+15005550006"


@pytest.fixture
def db_proxy(app):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield proxy
    proxy.close()


def app_behind(proxy, app, tmp_path, **settings):
    """The platform's web app, reaching the test database only through `proxy`."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(host="127.0.0.1", port=proxy.port)
    settings = {"WEBHOOK_SPOOL_DIR": str(tmp_path / "spool"), "WEBHOOK_DRAIN_INTERVAL_SECONDS": 0,
                "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
                "TWILIO_FROM_NUMBER": OUR_NUMBER, "PUBLIC_BASE_URL": "http://localhost", **settings}
    return create_app("testing", SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False), **settings)


@pytest.fixture
def web(app, db_proxy, tmp_path):
    web = app_behind(db_proxy, app, tmp_path)
    yield web
    with web.app_context():
        db.engine.dispose()


def signed(client, path, params, token=DEFAULT_AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(f"http://localhost{path}", params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def status_callback(client, message_id, status, sid):
    return signed(client, f"/webhooks/twilio/status?message_id={message_id}",
                  {"MessageSid": sid, "MessageStatus": status, "AccountSid": DEFAULT_ACCOUNT_SID})


def inbound(client, body, sid):
    return signed(client, "/webhooks/twilio/inbound", {"MessageSid": sid, "From": DEPUTY, "To": OUR_NUMBER,
                                                       "Body": body, "AccountSid": DEFAULT_ACCOUNT_SID})


def cli(web, *args):
    """`notifier webhooks ...` against the web app (the test's own app context is the other app's)."""
    with web.app_context():
        return web.test_cli_runner().invoke(args=["webhooks", *args])


def spooled(web):
    with web.app_context():
        from notifier.delivery.inbox import spool

        return spool()


def test_webhooks_are_kept_while_the_database_is_away_and_handled_when_it_is_back(ctx, web, db_proxy):
    (deputy_id,) = add_deputies(1)
    [message] = create_messages([DEPUTY], body="【县人大常委会】通知")
    mid, sid = message.id, "SM" + "d" * 32
    db.session.execute(update(Message).where(Message.id == mid).values(status=SENT, gateway_id=sid))
    db.session.commit()
    client = web.test_client()

    db_proxy.cut()
    assert status_callback(client, mid, "delivered", sid).status_code == 200
    assert status_callback(client, mid, "delivered", sid).status_code == 200  # Twilio's retry, or a replay
    answer = inbound(client, "退订", "SM" + "e" * 32)
    assert answer.status_code == 200 and answer.get_data(as_text=True).endswith("<Response />")
    # Still refused: a forged request, and one without its MessageSid; neither is kept.
    assert status_callback(client, mid, "failed", sid).status_code == 200
    forged = client.post(f"/webhooks/twilio/status?message_id={mid}", data={"MessageSid": sid},
                         headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    assert signed(client, "/webhooks/twilio/inbound", {"From": DEPUTY, "Body": "1"}).status_code == 400
    assert len(spooled(web).names()) == 4
    db.session.expire_all()
    assert db.session.get(Message, mid).status == SENT
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0

    result = cli(web, "drain")
    assert result.exit_code != 0 and "unavailable" in result.output, result.output
    assert len(spooled(web).names()) == 4  # nothing lost by trying

    db_proxy.restore()
    result = cli(web, "drain")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"done": 4, "failed": 0, "busy": 0, "left": 0}
    assert spooled(web).names() == []
    db.session.expire_all()
    message = db.session.get(Message, mid)
    assert message.status == DELIVERED  # the late `failed` of the same text changed nothing
    events = db.session.scalars(select(MessageEvent).where(MessageEvent.message_id == mid)).all()
    assert [e.source for e in events] == ["callback"] * 3 and events[0].raw["MessageStatus"] == "delivered"
    (reply,) = db.session.scalars(select(InboundMessage)).all()
    assert reply.kind == "opt_out" and reply.received_at <= events[0].at
    assert db.session.get(Deputy, deputy_id).opted_out
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "deputy.opt_out")) == 1
    assert cli(web, "drain").exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_a_request_that_cannot_be_handled_is_kept_aside_not_lost(ctx, web):
    client = web.test_client()
    # A signed callback the database refuses (an id beyond its integers): kept, answered 200.
    assert status_callback(client, 10**12, "delivered", "SM" + "f" * 32).status_code == 200
    box = spooled(web)
    assert len(box.names()) == 1
    result = cli(web, "drain")
    assert json.loads(result.output.strip().splitlines()[-1])["failed"] == 1
    assert box.names() == [] and len(box.failed_names()) == 1
    status = cli(web, "status")
    assert json.loads(status.output)["failed"] == 1
    assert box.retry_failed() == 1 and len(box.names()) == 1


def _drain_in_process(directory, out):
    seen = []
    Spool(directory).drain(lambda entry: seen.append(entry["n"]))
    with open(out, "w") as handle:
        json.dump(seen, handle)


def test_drainers_in_several_processes_handle_each_entry_once(tmp_path):
    box = Spool(str(tmp_path / "spool"))
    for n in range(300):
        box.put({"n": n})
    context = multiprocessing.get_context("fork")
    outs = [str(tmp_path / f"seen-{i}.json") for i in range(4)]
    procs = [context.Process(target=_drain_in_process, args=(box.directory, out)) for out in outs]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    seen = [n for out in outs for n in json.load(open(out))]
    assert sorted(seen) == list(range(300))
    assert box.names() == [] and os.listdir(box.tmp) == []


def test_the_database_away_stops_a_pass_and_keeps_the_rest(tmp_path):
    box = Spool(str(tmp_path / "spool"))
    for n in range(3):
        box.put({"n": n})
    handled = []

    def handle(entry):
        if entry["n"] == 1:
            raise Unavailable("connection refused")
        handled.append(entry["n"])

    assert box.drain(handle) == {"done": 1, "failed": 0, "busy": 0, "left": 2}
    assert handled == [0] and len(box.names()) == 2
    assert box.drain(lambda entry: handled.append(entry["n"]))["done"] == 2
    assert handled == [0, 1, 2]
