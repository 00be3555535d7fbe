"""Through real Celery workers and the Dysmsapi simulator in its own process (issue 12): a
templated notice to a few hundred deputies, approved and dispatched by the worker, delivered
exactly once through flow control, 5xx answers and lost answers, receipts pushed back (some twice)
to the live web app, and the simulated deputies' replies tallied."""
import pytest
from sqlalchemy import func, select

from notifier.accounts.models import User
from notifier.delivery.models import DELIVERED, Message
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.templates import add_template
from notifier.replies.models import InboundMessage
from notifier.replies.service import tally_counts
from tests.conftest import wait_until
from tests.gateways.aliyun.conftest import TOKEN, aliyun_settings
from tests.notices.conftest import add_deputies

N = 300
TEXT = "${name}代表：${content}请回复1确认，2请假。"


@pytest.mark.slow
def test_a_templated_notice_to_hundreds_is_delivered_once_through_throttling_and_5xx(
        actx, workers, aliyun_sim_process, live_url, make_user):
    hooks = f"{live_url}/webhooks/aliyun/{TOKEN}"
    aliyun_sim_process.configure(throttle_rate=0.08, fail_rate=0.06, fail_accepts=False, hang_rate=0.02,
                                 hang_seconds=6, hang_accepts=True, duplicate_rate=0.3, push_batch=25,
                                 report_url=f"{hooks}/report", up_url=f"{hooks}/up", latency_ms="20-60",
                                 reply_rate=0.5, reply_after_ms="100-2000", reply_texts="1,2",
                                 templates={"SMS_480000001": TEXT})
    workers.start(beat=True, **aliyun_settings(aliyun_sim_process.url, ALIYUN_HTTP_TIMEOUT=2.0))
    add_deputies(N, levels=("county",))
    add_template({"code": "SMS_480000001", "text": TEXT})
    composer, approver = (db.session.get(User, make_user(role).id) for role in ("composer", "approver"))
    notice = workflow.create_notice({"title": "常委会会议通知", "template": "SMS_480000001",
                                     "params": {"content": "周五上午九时开常委会，"},
                                     "audience": {"levels": ["county"]}, "reply": "confirm"}, composer)
    workflow.submit(notice, composer)
    workflow.approve(notice, approver)  # the worker dispatches it

    def delivered():
        db.session.commit()
        return db.session.scalar(select(func.count()).where(Message.status == DELIVERED))

    wait_until(lambda: delivered() == N, 240, what=f"all {N} delivered")
    sent = aliyun_sim_process.accepted
    assert len(sent) == N and len({s["PhoneNum"] for s in sent}) == N  # nobody got it twice
    assert all(s["Content"].startswith("【县人大常委会】代表") for s in sent)
    calls = aliyun_sim_process.stats()["calls"]
    assert calls.get("Throttling.User", 0) > 0 and calls.get("ServiceUnavailable", 0) > 0, calls
    db.session.commit()
    assert db.session.scalar(select(func.count(func.distinct(Message.gateway_id)))) == N
    # Deputies answer up to 2 s after their receipt, and a push may be retried: compare the tally
    # with the stored replies once the simulator has no answer left to push and both agree.
    def settled():
        db.session.commit()
        stats = aliyun_sim_process.stats()
        stored = db.session.scalar(select(func.count()).select_from(InboundMessage)
                                   .where(InboundMessage.notice_id == notice.id))
        total = db.session.scalar(select(func.count()).select_from(InboundMessage))
        tally = tally_counts(notice.id)
        return (stats["pending_replies"] == 0 and total >= stats["pushed"]["up_items"] > 0
                and tally["confirmed"] + tally["declined"] == stored)

    wait_until(settled, 60, what="the replies stored and tallied")
