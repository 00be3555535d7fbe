"""/metrics grows when a notice is sent, end to end: real Celery workers, the simulator over
HTTP (with its status callbacks to the live app), PostgreSQL and Redis."""
import re

import pytest

from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from tests.conftest import wait_until
from tests.notices.conftest import add_deputies, notice_data, user

pytestmark = pytest.mark.slow


def _scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    samples = {}
    for line in response.get_data(as_text=True).splitlines():
        match = re.match(r"^(\w+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
        if match:
            samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def _sum(samples, name, **labels):
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for key, v in samples.items()
               if key.split("{")[0] == name and all(w in key for w in wanted))


def test_metrics_grow_when_a_notice_is_sent(dctx, workers, sim_process, client, make_user):
    add_deputies(12, levels=("county",))
    before = _scrape(client)
    assert _sum(before, "notifier_texts", status="delivered") == 0
    workers.start(beat=True, NOTICE_TICK_SECONDS=1)
    composer, approver = make_user("composer"), make_user("approver")
    notice = workflow.create_notice(notice_data(), user(composer))
    workflow.submit(notice, user(composer))
    workflow.approve(notice, user(approver))
    nid = notice.id

    def completed():
        db.session.commit()
        return db.session.get(Notice, nid).status == "completed"

    wait_until(completed, 180, "the notice to complete")
    wait_until(lambda: _sum(_scrape(client), "notifier_webhooks_total", kind="status", outcome="accepted") >= 12,
               60, "the status callbacks to be counted")
    after = _scrape(client)
    assert _sum(after, "notifier_texts", status="delivered", gateway="twilio") == 12
    assert _sum(after, "notifier_gateway_call_seconds_count", gateway="twilio") >= 12
    assert _sum(after, "notifier_gateway_call_seconds_bucket", gateway="twilio", le="+Inf") >= 12
    assert 'notifier_queue_depth{queue="send"}' in after
