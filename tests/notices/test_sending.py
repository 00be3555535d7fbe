"""End to end with real Celery workers (with beat), the simulator over HTTP, PostgreSQL and Redis:
API create -> approve -> every text delivered -> notice completed; and cancel while sending."""
import time
from collections import Counter

import pytest
from sqlalchemy import or_, select

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import counts
from notifier.notices.models import Notice
from tests.conftest import wait_until
from tests.notices.conftest import add_deputies, notice_data, user

pytestmark = pytest.mark.slow


def notice_status(notice_id):
    db.session.commit()
    return db.session.get(Notice, notice_id).status


def test_api_create_to_all_delivered_and_completed(dctx, workers, sim_process, client, make_user, token_for):
    add_deputies(150, levels=("county",))
    add_deputies(30, levels=("provincial", "county"), start=500)  # two levels: still one text each
    add_deputies(5, levels=("county",), start=900, opted_out=True)
    workers.start(beat=True, NOTICE_TICK_SECONDS=1)
    composer, approver = make_user("composer"), make_user("approver")
    created = client.post("/api/v1/notices", headers=token_for(composer), json=notice_data(
        audience={"levels": ["county", "provincial"]}))
    assert created.status_code == 201, created.json
    nid = created.json["id"]
    assert client.post(f"/api/v1/notices/{nid}/submit", headers=token_for(composer)).status_code == 200
    approved = client.post(f"/api/v1/notices/{nid}/approve", headers=token_for(approver))
    assert approved.status_code == 200 and approved.json["status"] == "approved"

    wait_until(lambda: notice_status(nid) == "completed", 180, "the notice to complete")
    got = client.get(f"/api/v1/notices/{nid}", headers=token_for(composer)).json
    assert got["counts"]["delivered"] == 180 and got["counts"]["skipped"] == 5 and got["counts"]["total"] == 185
    assert got["completed_at"] and got["recipient_count"] == 185
    accepted = sim_process.accepted
    assert len(accepted) == 180
    assert not [k for k, c in Counter(m["to"] for m in accepted).items() if c > 1]  # one text per deputy
    assert all(m["body"].startswith("【县人大常委会】代表") and m["body"].endswith("回复1确认，2请假 #10")
               for m in accepted)
    untimed = db.session.scalars(select(Message.id).where(Message.status == "delivered", or_(
        Message.queued_at.is_(None), Message.sent_at.is_(None), Message.delivered_at.is_(None)))).all()
    assert not untimed, "delivered texts must say when they were queued, sent and delivered"
    opted = set(db.session.scalars(select(Message.to).where(Message.status == "skipped")))
    assert opted.isdisjoint({m["to"] for m in accepted})


def test_cancel_while_sending_sends_nothing_more(dctx, workers, sim_process, make_user):
    add_deputies(400, levels=("county",))
    workers.start(SMS_RATE_LIMIT=25)  # slow enough to cancel midway
    composer, approver = make_user("composer"), make_user("approver")
    notice = workflow.create_notice(notice_data(), user(composer))
    workflow.submit(notice, user(composer))
    workflow.approve(notice, user(approver))
    nid = notice.id
    wait_until(lambda: len(sim_process.accepted) >= 30, 120, "the first texts")

    workflow.cancel(db.session.get(Notice, nid), user(approver))  # acknowledged when this returns
    db.session.commit()
    handed = set(db.session.scalars(select(Message.to).where(
        Message.notice_id == nid, Message.status.in_(("sending", "sent", "delivered", "undelivered", "failed")))))
    cancelled = set(db.session.scalars(select(Message.to).where(Message.notice_id == nid,
                                                                Message.status == "cancelled")))
    assert cancelled and len(handed) < 400

    # Let in-flight calls finish and workers drain their queues (the cancelled tasks find nothing).
    time.sleep(8)
    accepted = [m["to"] for m in sim_process.accepted]
    assert set(accepted) <= handed, "a text was sent after the cancel was acknowledged"
    assert set(accepted).isdisjoint(cancelled)
    assert len(accepted) == len(set(accepted))
    c = counts(nid)
    assert c["cancelled"] == len(cancelled) and c["pending"] == 0 and c["queued"] == 0
    assert notice_status(nid) == "cancelled"
