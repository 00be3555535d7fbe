"""The overview of the last N days: notices and texts sent, segments, delivery and reply rates,
by level and by source organ, per day; and the queues and limiter right now.

Closed days come from the daily aggregates (written by retention.rollup, so they survive the purge
of message bodies); days not rolled up yet are counted live from the messages, in the same shape.
"""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from notifier.delivery.models import DELIVERED, FAILED, SENT, UNDELIVERED, Message
from notifier.extensions import db
from notifier.notices.models import SOURCE_LABELS, SOURCES, Notice
from notifier.reports import replies
from notifier.reports.models import DeliveryDaily
from notifier.reports.sql import local_day
from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS, deputy_levels
from notifier.timeutil import utcnow

HANDED = (SENT, DELIVERED, UNDELIVERED)  # the gateway accepted these: "texts sent"
FINISHED = (DELIVERED, UNDELIVERED, FAILED)


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def today():
    return utcnow().astimezone(_zone()).date()


def _as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def last_rolled_day():
    return db.session.scalar(select(func.max(DeliveryDaily.day)))


def live_rows(start_day, end_day=None):
    """(day, notice_id, level, status, error_code, messages, segments) counted from the messages
    created on local days start_day..end_day (inclusive; open-ended without end_day)."""
    zone = _zone()
    start = datetime.combine(start_day, time.min, tzinfo=zone)
    where = [Message.created_at >= start]
    if end_day is not None:
        where.append(Message.created_at < datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=zone))
    day = local_day(Message.created_at).label("day")
    code = func.coalesce(Message.error_code, "")
    base = (day, Message.notice_id, Message.status, code)
    out = [(_as_date(r[0]), r[1], "", r[2], r[3], int(r[4]), int(r[5] or 0)) for r in db.session.execute(
        select(*base, func.count(), func.sum(Message.segments)).where(*where).group_by(*base))]
    by_level = (day, Message.notice_id, deputy_levels.c.level_code, Message.status, code)
    out += [(_as_date(r[0]), r[1], r[2], r[3], r[4], int(r[5]), int(r[6] or 0)) for r in db.session.execute(
        select(*by_level, func.count(), func.sum(Message.segments))
        .join(deputy_levels, deputy_levels.c.deputy_id == Message.deputy_id).where(*where).group_by(*by_level))]
    return out


def daily_rows(start_day):
    """Aggregated rows for closed days already rolled up, live rows for the rest."""
    rolled = last_rolled_day()
    rows = []
    if rolled is not None and rolled >= start_day:
        rows += [(r.day, r.notice_id, r.level, r.status, r.error_code, r.messages, r.segments)
                 for r in db.session.scalars(select(DeliveryDaily).where(DeliveryDaily.day >= start_day))]
        start_day = rolled + timedelta(days=1)
    return rows + live_rows(start_day)


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def overview(days=30):
    end = today()
    start = end - timedelta(days=days - 1)
    rows = daily_rows(start)
    all_levels = [r for r in rows if r[2] == ""]
    notice_ids = sorted({r[1] for r in all_levels if r[1] is not None})
    notices = {n.id: n for n in db.session.scalars(select(Notice).where(Notice.id.in_(notice_ids)))} if notice_ids \
        else {}

    def empty():
        return {"notices": set(), "texts": 0, "segments": 0, "delivered": 0, "finished": 0, "messages": 0}

    totals = empty()
    per_day = {start + timedelta(days=i): empty() for i in range(days)}
    per_source = {s: empty() for s in SOURCES}
    per_level = {c: empty() for c in LEVEL_CODES}

    def add(bucket, notice_id, status, n, segments):
        bucket["messages"] += n
        if notice_id is not None:
            bucket["notices"].add(notice_id)
        if status in HANDED:
            bucket["texts"] += n
            bucket["segments"] += segments
        if status == DELIVERED:
            bucket["delivered"] += n
        if status in FINISHED:
            bucket["finished"] += n

    for day, notice_id, level, status, _code, n, segments in rows:
        if level:
            if level in per_level:
                add(per_level[level], notice_id, status, n, segments)
            continue
        add(totals, notice_id, status, n, segments)
        if day in per_day:
            add(per_day[day], notice_id, status, n, segments)
        notice = notices.get(notice_id)
        source = notice.source if notice is not None else "other"
        add(per_source.setdefault(source, empty()), notice_id, status, n, segments)

    # Replies: for the notices that asked for one, answers over the texts delivered.
    asked = [n for n in notices.values() if n.reply_mode != "none"]
    answered = recipients = 0
    for notice in asked:
        t = replies.tally(notice.id)
        answered += sum(t.get(k, 0) for k in ("confirmed", "declined", "received", "other"))
        recipients += t.get("recipients", 0) or sum(t.get(k, 0) for k in ("confirmed", "declined", "received", "other",
                                                                          "opted_out", "none"))

    def summary(bucket):
        return {"notices": len(bucket["notices"]), "texts": bucket["texts"], "segments": bucket["segments"],
                "delivered": bucket["delivered"], "messages": bucket["messages"],
                "delivery_rate": _rate(bucket["delivered"], bucket["finished"])}

    return {
        "days": days, "start": start.isoformat(), "end": end.isoformat(),
        "totals": {**summary(totals), "reply_rate": _rate(answered, recipients), "replies": answered,
                   "reply_recipients": recipients, "notices_asking_reply": len(asked)},
        "per_day": [{"day": d.isoformat(), **summary(b)} for d, b in per_day.items()],
        "by_source": [{"source": s, "label": str(SOURCE_LABELS.get(s, s)), **summary(b)}
                      for s, b in per_source.items()],
        "by_level": [{"level": c, "label": str(LEVEL_LABELS[c]), **summary(b)} for c, b in per_level.items()],
    }


def current_state():
    """The delivery engine's queues and limiter (notifier/delivery/stats.py)."""
    from notifier.delivery.stats import delivery_status

    return delivery_status()
