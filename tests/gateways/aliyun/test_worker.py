"""Through real Celery workers and the Dysmsapi simulator in its own process (issue 12): a few
hundred templated texts delivered exactly once through flow control, 5xx answers and lost
answers, receipts pushed back to the live web app."""
import pytest
from sqlalchemy import func, select

from notifier.delivery.models import DELIVERED, Message
from notifier.delivery.outbox import Recipient, create_messages
from notifier.extensions import db
from tests.conftest import wait_until
from tests.gateways.aliyun.conftest import TEMPLATE, TOKEN, aliyun_settings

N = 300


@pytest.mark.slow
def test_hundreds_delivered_exactly_once_through_throttling_and_5xx(actx, workers, aliyun_sim_process, live_url):
    aliyun_sim_process.configure(throttle_rate=0.08, limit_rate=0.0, fail_rate=0.06, fail_accepts=False,
                                 hang_rate=0.02, hang_seconds=6, hang_accepts=True, duplicate_rate=0.3,
                                 push_batch=25, report_url=f"{live_url}/webhooks/aliyun/{TOKEN}/report",
                                 latency_ms="20-60")
    workers.start(beat=True, **aliyun_settings(aliyun_sim_process.url, ALIYUN_HTTP_TIMEOUT=2.0))
    create_messages([Recipient(to=f"+86138{i:08d}", template_params={"name": f"代表{i}", "content": "周五开会"})
                     for i in range(N)], "【县人大常委会】代表您好，周五开会", template_code=TEMPLATE, queue=True)

    def delivered():
        db.session.commit()
        return db.session.scalar(select(func.count()).where(Message.status == DELIVERED))

    wait_until(lambda: delivered() == N, 240, what=f"all {N} delivered")
    sent = aliyun_sim_process.accepted
    assert len(sent) == N
    assert len({s["PhoneNum"] for s in sent}) == N  # no number got it twice
    calls = aliyun_sim_process.stats()["calls"]
    assert calls.get("Throttling.User", 0) > 0 and calls.get("ServiceUnavailable", 0) > 0, calls
    db.session.commit()
    assert db.session.scalar(select(func.count(func.distinct(Message.gateway_id)))) == N
