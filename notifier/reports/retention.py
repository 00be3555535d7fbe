"""Retention: roll each closed day up into `delivery_daily`, then purge what is older than
REPORTS_RETENTION_DAYS: message bodies (the rows, statuses, times and error codes stay, so the log
can still say whether and when a deputy got a notice), raw callback fields and gateway exchanges.
Only days already rolled up are purged, so the aggregates always cover what was purged.
"""
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select, update

from notifier.delivery.models import GatewayExchange, Message, MessageEvent
from notifier.extensions import db
from notifier.reports.config import conf
from notifier.reports.dashboard import live_rows, today
from notifier.reports.models import DeliveryDaily

log = logging.getLogger(__name__)
PURGED_BODY = ""  # what a purged body becomes (the column is NOT NULL)
BATCH = 10_000


def rollup_day(day):
    """(Re)write the aggregate rows of one local day; idempotent."""
    db.session.execute(delete(DeliveryDaily).where(DeliveryDaily.day == day))
    rows = live_rows(day, day)
    if rows:
        db.session.execute(db.insert(DeliveryDaily), [
            {"day": d, "notice_id": n, "level": lv, "status": s, "error_code": c, "messages": m, "segments": seg}
            for d, n, lv, s, c, m, seg in rows])
    return len(rows)


def rollup(until_day=None):
    """Roll up every closed day (before today, local) not yet rolled up. Returns the days done."""
    until_day = until_day or today() - timedelta(days=1)
    last = db.session.scalar(select(func.max(DeliveryDaily.day)))
    if last is None:
        first = db.session.scalar(select(func.min(Message.created_at)))
        if first is None:
            return []
        start = first.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    else:
        start = last + timedelta(days=1)
    done = []
    day = start
    while day <= until_day:
        rollup_day(day)
        db.session.commit()
        done.append(day)
        day += timedelta(days=1)
    return done


def purge(now=None, days=None):
    """Purge bodies, raw callback fields and exchanges older than the retention (and rolled up)."""
    days = conf("REPORTS_RETENTION_DAYS") if days is None else days
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    cutoff = (now or datetime.now(zone)) - timedelta(days=days)
    rolled = db.session.scalar(select(func.max(DeliveryDaily.day)))
    if rolled is None:
        return {"bodies": 0, "events": 0, "exchanges": 0}
    cutoff = min(cutoff, datetime.combine(rolled + timedelta(days=1), time.min, tzinfo=zone))
    old = select(Message.id).where(Message.created_at < cutoff)
    done = {"bodies": 0, "events": 0, "exchanges": 0}
    while True:  # in batches, so a first purge of a large backlog does not hold one huge transaction
        ids = db.session.scalars(old.where(Message.body != PURGED_BODY).limit(BATCH)).all()
        if not ids:
            break
        done["bodies"] += db.session.execute(update(Message).where(Message.id.in_(ids))
                                             .values(body=PURGED_BODY)).rowcount
        done["events"] += db.session.execute(update(MessageEvent).where(
            MessageEvent.message_id.in_(ids), MessageEvent.raw.is_not(None)).values(raw=None)).rowcount
        db.session.commit()
    done["exchanges"] = db.session.execute(delete(GatewayExchange).where(GatewayExchange.at < cutoff)).rowcount
    db.session.commit()
    return done


def run(now=None):
    """The periodic task's body: roll up closed days, then purge."""
    days = rollup()
    purged = purge(now=now)
    result = {"rolled_up": [d.isoformat() for d in days], **purged}
    if days or any(purged.values()):
        log.info("reports retention: %s", result)
    return result
