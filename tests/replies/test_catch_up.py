"""Issue 10, item 7: replies the webhook never brought are read from the gateway's list of inbound
texts (the simulator over HTTP, through the Twilio adapter) and stored once, threaded as of the
time the gateway got them; each pass reads from where the last one started."""
from datetime import timedelta

from sqlalchemy import select

from notifier.delivery.models import GatewayCursor
from notifier.extensions import db
from notifier.replies.catch_up import catch_up
from notifier.replies.models import InboundMessage
from notifier.replies.service import receive
from notifier.timeutil import utcnow
from tests.delivery.conftest import FROM_NUMBER
from tests.notices.conftest import add_deputies
from tests.replies.conftest import send_notice


def test_texts_the_webhook_missed_are_stored_once_and_threaded(dctx, sim, staff):
    add_deputies(2)
    notice_id = send_notice(staff).id
    arrived = sim.receive_text("+8613900000000", FROM_NUMBER, "1", post=False)
    missed = sim.receive_text("+8613900000001", FROM_NUMBER, "2 出差在外", post=False)
    sim.receive_text("+8613900000001", "+15005550007", "to another of the account's numbers", post=False)
    receive({"MessageSid": arrived, "From": "+8613900000000", "To": FROM_NUMBER, "Body": "1"})

    assert catch_up() == {"listed": 2, "stored": 1}
    assert catch_up() == {"listed": 2, "stored": 0}
    row = db.session.scalar(select(InboundMessage).where(InboundMessage.gateway_id == missed))
    assert (row.kind, row.notice_id, row.from_number, row.body) == ("decline", notice_id, "+8613900000001", "2 出差在外")
    assert abs(row.received_at - utcnow()) < timedelta(minutes=1)
    assert db.session.scalar(select(InboundMessage.id).where(InboundMessage.body.like("to another%"))) is None


def test_a_pass_reads_from_where_the_last_one_started(dctx, sim):
    later = utcnow() + timedelta(hours=2)
    assert catch_up(now=later) == {"listed": 0, "stored": 0}
    assert db.session.get(GatewayCursor, "twilio.inbound").position == later
    sim.receive_text("+8613900000000", FROM_NUMBER, "1", post=False)  # before that pass began, and its slack
    assert catch_up() == {"listed": 0, "stored": 0}
    assert db.session.get(GatewayCursor, "twilio.inbound").position == later  # never moved back
