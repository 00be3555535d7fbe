"""Issue 10, item 7, end to end: real Celery workers (with beat), the simulator in its own process
posting signed callbacks and deputies' replies, PostgreSQL and Redis.

- The web app's database goes away while a notice goes out (the app reaches PostgreSQL through a
  proxy the test cuts): every callback and reply is answered 200 and spooled, and once the
  database is back every text ends delivered, the notice completes and every reply is stored once.
- The web app cannot be reached at all: nothing the gateway posts arrives, and the periodic
  catch-up asks the gateway instead (message status, its list of inbound texts), within seconds
  here (minutes by default).
"""
import socket
import threading

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from notifier.delivery.models import DELIVERED, Message
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from notifier.replies.models import InboundMessage
from notifier.replies.service import tally
from tests.conftest import wait_until
from tests.delivery.conftest import FROM_NUMBER, Workers
from tests.delivery.test_webhook_spool import app_behind, db_proxy  # noqa: F401
from tests.notices.conftest import add_deputies, notice_data, user

pytestmark = pytest.mark.slow


@pytest.fixture
def pool(dctx, sim_process, tmp_path):
    """Workers started by the test, once it knows where the gateway's webhooks go."""
    started = []

    def start(public_url, **settings):
        workers = Workers(dctx, sim_process, public_url, tmp_path)
        started.append(workers)
        return workers.start(beat=True, NOTICE_TICK_SECONDS=1, **settings)

    yield start
    for workers in started:
        workers.stop_all()


def serve(web):
    server = make_server("127.0.0.1", 0, web, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    web.config["PUBLIC_BASE_URL"] = url  # what the simulator signs against
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server, url


def send_notice(make_user):
    composer, approver = make_user("composer"), make_user("approver")
    notice = workflow.create_notice(notice_data(), user(composer))
    workflow.submit(notice, user(composer))
    workflow.approve(notice, user(approver))
    return notice.id


def sim_replies(sim_process):
    return requests.get(f"{sim_process.url}/_sim/replies", timeout=10).json()["replies"]


def counts(nid):
    db.session.commit()
    delivered = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.notice_id == nid, Message.status == DELIVERED))
    replies = db.session.scalar(select(func.count()).select_from(InboundMessage))
    return delivered, replies, db.session.get(Notice, nid).status


def test_database_away_while_a_notice_goes_out_loses_no_receipt_and_no_reply(
        dctx, app, sim_process, db_proxy, pool, make_user, tmp_path):  # noqa: F811
    n = 60
    add_deputies(n)
    web = app_behind(db_proxy, app, tmp_path, WEBHOOK_DRAIN_INTERVAL_SECONDS=0.5)
    server, url = serve(web)
    try:
        sim_process.configure(reply_rate=1.0, reply_after_ms="100-1500", inbound_url=f"{url}/webhooks/twilio/inbound",
                              reply_mix={"confirm": 0.7, "decline": 0.3})
        # No help from polling or the inbound catch-up here: only what the webhooks kept.
        pool(url, SMS_RECEIPT_POLL_AFTER_SECONDS=36000, REPLY_CATCHUP_SECONDS=36000)
        db_proxy.cut()  # PostgreSQL restarts, as far as the web app can tell
        nid = send_notice(make_user)

        def gateway_done():
            stats = sim_process.stats()
            return len(sim_process.accepted) == n and stats["pending_callbacks"] == 0 and \
                len(sim_replies(sim_process)) == n and stats

        stats = wait_until(gateway_done, 120, "every text, callback and reply", interval=0.5)
        assert stats["callbacks_failed"] == 0, stats  # every one answered 200 (the spool kept it)
        assert {r["status"] for r in sim_replies(sim_process)} == {200}
        delivered, replies, status = counts(nid)
        assert (delivered, replies, status) == (0, 0, "sending")  # all of it is still in the spool
        with web.app_context():
            from notifier.delivery.inbox import spool

            assert len(spool().names()) >= 3 * n + n  # queued, sent and delivered per text, and a reply each

        db_proxy.restore()
        wait_until(lambda: counts(nid) == (n, n, "completed"), 60, "the spool to be drained", interval=0.5)
        stored = set(db.session.scalars(select(InboundMessage.gateway_id)))
        assert stored == {r["sid"] for r in sim_replies(sim_process)}
        result = tally(nid)
        assert result["confirmed"] + result["declined"] == n and result["none"] == 0
        with web.app_context():
            assert spool().names() == [] and spool().failed_names() == []
    finally:
        server.shutdown()
        with web.app_context():
            db.engine.dispose()


def test_what_the_webhooks_never_brought_is_fetched_from_the_gateway(dctx, sim_process, pool, make_user):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"  # the web app is down
    n = 40
    add_deputies(n)
    sim_process.configure(reply_rate=1.0, reply_after_ms="100-800", inbound_url=f"{nowhere}/webhooks/twilio/inbound",
                          reply_mix={"confirm": 1.0}, callback_retries=0)
    pool(nowhere, SMS_RECEIPT_POLL_AFTER_SECONDS=3, REPLY_CATCHUP_SECONDS=2)
    nid = send_notice(make_user)
    # A stranger's text that Twilio took but never posted anywhere.
    stranger = requests.post(f"{sim_process.url}/_sim/inbound", timeout=10, json={
        "from": "+8613700000000", "to": FROM_NUMBER, "body": "请问怎么订阅？", "post": False}).json()["sid"]

    wait_until(lambda: counts(nid) == (n, n + 1, "completed"), 120, "receipts polled and replies listed",
               interval=0.5)
    stats = sim_process.stats()
    assert stats["callbacks_delivered"] == 0 and stats["callbacks_failed"] > 0  # not one webhook arrived
    assert all(r["status"] != 200 for r in sim_replies(sim_process))
    stored = set(db.session.scalars(select(InboundMessage.gateway_id)))
    assert stored == {r["sid"] for r in sim_replies(sim_process)} | {stranger}
    assert tally(nid)["confirmed"] == n
