"""Issue 10, item 4: receipt polls are bounded. A `sent` text is polled once per interval (marked
when the poll is queued), with backoff, without an event per poll that sees nothing new, and is
closed as "sent, no receipt" after SMS_RECEIPT_MAX_AGE_HOURS so that its notice completes."""
from datetime import timedelta

import redis
from sqlalchemy import func, select, update

from notifier.delivery.models import DELIVERED, SENT, Message, MessageEvent
from notifier.delivery.outbox import create_messages
from notifier.delivery.receipts import poll_receipt
from notifier.delivery.reconcile import sweep
from notifier.delivery.sending import deliver
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import complete_if_done, dispatch_notice
from notifier.notices.models import Notice
from notifier.timeutil import utcnow
from tests.delivery.test_callbacks_and_reconcile import post_callback
from tests.notices.conftest import add_deputies, notice_data, user


def events_of(mid):
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(MessageEvent).where(MessageEvent.message_id == mid))


def sent_long_ago(mid, ago):
    db.session.execute(update(Message).where(Message.id == mid).values(sent_at=utcnow() - ago))
    db.session.commit()


def test_a_poll_is_queued_once_per_interval_and_backs_off(dctx, sim):
    sim.configure(callback_statuses="", final_after_ms=10_000_000)  # the gateway keeps it `sent`, says nothing
    [row] = create_messages(["+8613800000001"], body="【县人大常委会】通知", queue=True)
    mid = row.id
    assert deliver([mid])["accepted"] == 1
    sent_long_ago(mid, timedelta(minutes=10))
    broker = redis.Redis.from_url(dctx.config["REDIS_URL"])
    broker.delete("callbacks")

    now = utcnow()
    assert sweep(now=now)["poll"] == 1
    assert sweep(now=now)["poll"] == 0  # already queued for this interval
    assert sweep(now=now + timedelta(minutes=5))["poll"] == 0
    assert broker.llen("callbacks") == 1
    # The next poll comes after as long again as the text had waited (10 min), not every sweep.
    assert sweep(now=now + timedelta(minutes=11))["poll"] == 1
    db.session.commit()
    gap = db.session.get(Message, mid).receipt_poll_at - (now + timedelta(minutes=11))
    assert timedelta(minutes=20) < gap <= timedelta(minutes=22)

    before = events_of(mid)
    for _ in range(3):
        assert poll_receipt(mid) == SENT
    assert events_of(mid) == before  # a poll that still sees `sent` is not news


def test_sent_without_receipt_is_closed_at_the_deadline_and_its_notice_completes(dctx, sim, make_user, client):
    add_deputies(2)
    composer, approver = make_user("composer"), make_user("approver")
    notice = workflow.create_notice(notice_data(reply="none"), user(composer))
    workflow.submit(notice, user(composer))
    workflow.approve(notice, user(approver))
    dispatch_notice(notice.id)
    first, second = db.session.scalars(select(Message.id).where(Message.notice_id == notice.id)
                                       .order_by(Message.id)).all()
    db.session.execute(update(Message).where(Message.id == first).values(status=DELIVERED))
    db.session.execute(update(Message).where(Message.id == second).values(status=SENT, gateway_id="SM" + "c" * 32))
    db.session.commit()
    hours = dctx.config["SMS_RECEIPT_MAX_AGE_HOURS"]
    sent_long_ago(second, timedelta(hours=hours) - timedelta(minutes=5))
    assert sweep()["closed"] == 0 and not complete_if_done(notice.id)

    sent_long_ago(second, timedelta(hours=hours, minutes=1))
    assert sweep()["closed"] == 1
    assert sweep()["closed"] == 0 and sweep()["poll"] == 0  # closed: neither closed again nor polled
    message = db.session.get(Message, second)
    assert message.status == SENT and message.receipt_closed_at is not None
    event = db.session.scalars(select(MessageEvent).where(MessageEvent.message_id == second)
                               .order_by(MessageEvent.id.desc())).first()
    assert event.kind == "no_receipt" and "closed as sent" in event.detail
    assert complete_if_done(notice.id)
    assert db.session.get(Notice, notice.id).status == "completed"

    # The truth still wins: a receipt that comes late moves the text on.
    assert post_callback(client, second, "delivered", sid="SM" + "c" * 32).status_code == 200
    db.session.expire_all()
    assert db.session.get(Message, second).status == DELIVERED
