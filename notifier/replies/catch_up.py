"""Catching up on replies the webhook never got (the web app or its database down, a request
lost on the way): the gateway's list of inbound texts is read from where the last complete pass
started, and every text not stored yet goes through `receive`, as if it had just been posted, at
the time the gateway got it. `receive` is idempotent by gateway id, so a text that also arrives
by the webhook, or from the spool, is stored once.

A pass starts REPLY_CATCHUP_SLACK_SECONDS before the previous one did (clocks differ, and a
gateway may list a text a moment after taking it); the first looks back REPLY_CATCHUP_FIRST_HOURS.
"""
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifier.delivery.models import GatewayCursor
from notifier.delivery.sending import get_gateway
from notifier.extensions import db
from notifier.replies.config import conf
from notifier.replies.models import InboundMessage
from notifier.replies.service import receive
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)


def catch_up(gateway=None, now=None):
    """One pass over every configured gateway (or just `gateway`); returns {"listed", "stored"}.
    Gateways without an inbound list are skipped."""
    if gateway is None:
        from notifier.gateways.health import get_registry

        totals = {"listed": 0, "stored": 0}
        for name in get_registry().names:
            for key, n in catch_up(get_gateway(name), now).items():
                totals[key] += n
        return totals
    if not hasattr(gateway, "list_inbound"):
        return {"listed": 0, "stored": 0}
    now = now or utcnow()
    name = f"{gateway.name}.inbound"
    cursor = db.session.get(GatewayCursor, name)
    start = cursor.position if cursor else now - timedelta(hours=conf("REPLY_CATCHUP_FIRST_HOURS"))
    db.session.commit()
    db.session.close()  # no session held while asking the gateway
    listed = gateway.list_inbound(start - timedelta(seconds=conf("REPLY_CATCHUP_SLACK_SECONDS")))

    known = set()
    sids = [text.gateway_id for text in listed]
    for offset in range(0, len(sids), 1000):
        known.update(db.session.scalars(select(InboundMessage.gateway_id).where(
            InboundMessage.gateway_id.in_(sids[offset:offset + 1000]))))
    db.session.commit()
    stored = 0
    for text in listed:
        if text.gateway_id not in known:
            _row, created = receive({"MessageSid": text.gateway_id, "From": text.from_, "To": text.to,
                                     "Body": text.body}, now=text.received_at or now)
            stored += created
    _advance(name, now)
    if stored:
        log.info("inbound catch-up: %s texts the webhook had not brought", stored)
    return {"listed": len(listed), "stored": stored}


def _advance(name, position):
    cursor = db.session.get(GatewayCursor, name)
    if cursor is None:
        db.session.add(GatewayCursor(name=name, position=position))
    elif cursor.position < position:
        cursor.position = position
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent pass wrote it first: either start will do
        db.session.rollback()
