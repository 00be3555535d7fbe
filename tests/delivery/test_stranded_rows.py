"""Issue 10, item 3: no message row is left in a state that nothing picks up again.

A writer (a notice's dispatch, a one-off reply, a help answer) commits its rows and then queues
them. Here it stops right after that commit, as when PostgreSQL restarts under it: the database
refuses every further change to `messages` (a trigger that raises, dropped once the "restart" is
over) and the broker is unreachable (REDIS_URL at a closed port). What the rows' commit left must
then reach the gateway exactly once, through the sweeper and a real worker.
"""
import contextlib
import socket
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from notifier.delivery.models import PENDING, QUEUED, Message, MessageEvent
from notifier.delivery.outbox import create_messages
from notifier.delivery.reconcile import sweep
from notifier.delivery.sending import deliver
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import dispatch_notice
from notifier.notices.models import Notice
from notifier.timeutil import utcnow
from tests.conftest import wait_until
from tests.notices.conftest import add_deputies, notice_data, user


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


@contextlib.contextmanager
def writer_stops_after_its_commit(app):
    """Inside: the broker is unreachable and the database refuses every UPDATE of `messages`."""
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{closed_port()}/0"
    app.extensions.pop("delivery_producer", None)
    db.session.execute(text("""
        CREATE FUNCTION refuse_message_updates() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the database is shutting down'; END $$;
        CREATE TRIGGER refuse_message_updates BEFORE UPDATE ON messages
        FOR EACH ROW EXECUTE FUNCTION refuse_message_updates();"""))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text("DROP TRIGGER refuse_message_updates ON messages; "
                                "DROP FUNCTION refuse_message_updates();"))
        db.session.commit()
        app.config["REDIS_URL"] = saved
        app.extensions.pop("delivery_producer", None)


def stopped(call, *args):
    """Run a writer; an error from the refusing database is the writer stopping."""
    try:
        return call(*args)
    except DBAPIError:
        db.session.rollback()
        return None


@pytest.mark.slow
def test_dispatch_stopped_after_a_commit_still_sends_every_text_once(dctx, workers, sim_process, make_user):
    add_deputies(120)
    dctx.config["NOTICE_DISPATCH_CHUNK"] = 50
    composer, approver = make_user("composer"), make_user("approver")
    with writer_stops_after_its_commit(dctx):
        notice = workflow.create_notice(notice_data(reply="none"), user(composer))
        workflow.submit(notice, user(composer))
        workflow.approve(notice, user(approver))  # its dispatch task is lost: the broker is down
        nid = notice.id
        stopped(dispatch_notice, nid)
    dctx.config["NOTICE_DISPATCH_CHUNK"] = None
    workers.start(beat=True, NOTICE_TICK_SECONDS=1)

    def completed():
        db.session.commit()
        return db.session.get(Notice, nid).status == "completed"

    wait_until(completed, 120, "the notice to complete", interval=1.0)
    accepted = Counter(m["to"] for m in sim_process.accepted)
    assert len(accepted) == 120 and set(accepted.values()) == {1}
    assert db.session.scalar(select(Message.id).where(Message.status == PENDING)) is None


@pytest.mark.parametrize("writer", ["one-off reply", "help answer"])
def test_one_off_texts_stopped_after_their_commit_are_sent_once(dctx, sim, make_user, writer):
    from notifier.replies import outgoing, service
    from notifier.replies.settings import set_setting
    from notifier.roster.models import Deputy

    (deputy_id,) = add_deputies(1)
    set_setting("direct_replies_without_approval", True)
    composer = make_user("composer")
    with writer_stops_after_its_commit(dctx):
        if writer == "one-off reply":
            stopped(outgoing.send_to_deputy, db.session.get(Deputy, deputy_id), "请明天回电。", user(composer))
        else:
            stopped(service.receive, {"MessageSid": "SM" + "1" * 32, "From": "+8613900000000", "Body": "帮助"})
    (message_id,) = db.session.scalars(select(Message.id)).all()

    later = utcnow() + timedelta(seconds=dctx.config["SMS_REQUEUE_AFTER_SECONDS"] + 1)
    assert sweep(now=later)["requeued"] == 1
    assert deliver([message_id])["accepted"] == 1
    assert sweep(now=later)["requeued"] == 0
    assert len(sim.accepted) == 1 and sim.accepted[0]["to"] == "+8613900000000"


def test_sweeper_queues_rows_left_pending_and_only_those(dctx):
    old, fresh = create_messages(["+8613800000001", "+8613800000002"], body="【县人大常委会】通知")
    assert old.status == fresh.status == PENDING
    db.session.execute(Message.__table__.update().where(Message.id == old.id)
                       .values(created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    done = sweep()
    assert done["requeued"] == 1
    db.session.expire_all()
    assert db.session.get(Message, old.id).status == QUEUED and db.session.get(Message, old.id).queued_at
    assert db.session.get(Message, fresh.id).status == PENDING  # being written just now: not ours yet
    event = db.session.scalar(select(MessageEvent).where(MessageEvent.message_id == old.id))
    assert (event.kind, event.source, event.status) == ("sweep", "sweeper", QUEUED)
