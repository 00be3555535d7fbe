"""What every send pass looks at again before it claims a text: things change while a large
notice is leaving. A deputy who replied 退订 (or was made inactive) since the row was written gets
nothing, and a non-urgent notice's texts wait out quiet hours that began meanwhile.

Both take the rows of a pass (with `notice_id`, `queued_at`, the notice's `urgent` and the
deputy's `opted_out` and `active`), settle the ones they stop, and return the rest.
"""
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import update

from notifier.delivery import dispatch
from notifier.delivery.models import QUEUED, SKIPPED, Message
from notifier.delivery.outbox import id_in, record_events
from notifier.extensions import db
from notifier.timeutil import quiet_until, utcnow


def skip_opted_out(rows, summary):
    """Texts to deputies who opted out or became inactive since their row was written end
    `skipped`, with the reason. Returns the rows still to send."""
    reasons = {row.id: "opted out" if row.opted_out else "inactive"
               for row in rows if row.opted_out or row.active is False}
    if not reasons:
        return rows
    now = utcnow()
    skipped = []
    for reason in set(reasons.values()):
        ids = [mid for mid, why in reasons.items() if why == reason]
        skipped += [(mid, reason) for mid in db.session.scalars(
            update(Message).where(id_in(Message.id, ids), Message.status == QUEUED)
            .values(status=SKIPPED, error_message=reason, updated_at=now).returning(Message.id)
            .execution_options(synchronize_session=False))]
    record_events([(mid, "status", SKIPPED, "worker", reason) for mid, reason in sorted(skipped)])
    db.session.commit()
    summary["opted_out"] = len(skipped)
    return [row for row in rows if row.id not in reasons]


def hold_for_quiet_hours(rows, summary):
    """A non-urgent notice's texts found inside quiet hours go back to the queue until the
    hours end (queued_at = then: the sweeper queues them again if their task is lost). Their
    give-up clock starts afresh in the morning. Returns the rows still to send."""
    config = current_app.config
    now = utcnow()
    until = quiet_until(now, config)
    if until is None:
        return rows
    quiet = [row for row in rows if row.notice_id is not None and not row.urgent]
    if not quiet:
        return rows
    ids = [row.id for row in quiet]
    db.session.execute(update(Message).where(id_in(Message.id, ids), Message.status == QUEUED)
                       .values(queued_at=until, first_attempt_at=None, updated_at=now)
                       .execution_options(synchronize_session=False))
    local = until.astimezone(ZoneInfo(config["TIMEZONE"])).strftime("%H:%M")
    record_events([(row.id, "held", QUEUED, "worker", f"quiet hours: waits until {local}")
                   for row in quiet if row.queued_at != until])
    db.session.commit()
    # A countdown well below the broker's visibility timeout (a longer one is delivered twice):
    # a text held overnight is looked at again now and then, and goes when the hours are over.
    countdown = min((until - now).total_seconds(), float(config["BROKER_VISIBILITY_TIMEOUT"]) / 4)
    dispatch.send_messages(ids, countdown=max(1.0, countdown))
    summary["quiet"] = len(quiet)
    held = set(ids)
    return [row for row in rows if row.id not in held]
