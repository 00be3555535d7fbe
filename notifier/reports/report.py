"""One notice's report: funnel, time to deliver, replies, failures by error, delivered over time;
and "retry failed", which sends the transiently failed texts again as a follow-up notice."""
import math
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from notifier.audit.service import record
from notifier.delivery.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    STATUS_LABELS,
    UNDELIVERED,
    Message,
)
from notifier.extensions import db
from notifier.notices import followups, workflow
from notifier.notices.models import COMPLETED, RESEND, Notice
from notifier.notices.models import SENDING as NOTICE_SENDING
from notifier.reports import errors as error_table
from notifier.reports import replies
from notifier.reports.models import DeliveryDaily
from notifier.reports.sql import epoch, is_postgres
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

FUNNEL = (QUEUED, SENT, DELIVERED, UNDELIVERED, FAILED, SKIPPED, CANCELLED)
BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400)  # delivered-over-time steps, the finest giving <= 60 points


def status_counts(notice_id):
    """Messages by status; from the daily aggregates when the rows are gone (retention)."""
    counts = dict.fromkeys(("pending", QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED, FAILED, SKIPPED, CANCELLED), 0)
    rows = db.session.execute(select(Message.status, func.count()).where(Message.notice_id == notice_id)
                              .group_by(Message.status)).all()
    if not rows:
        rows = db.session.execute(select(DeliveryDaily.status, func.sum(DeliveryDaily.messages)).where(
            DeliveryDaily.notice_id == notice_id, DeliveryDaily.level == "").group_by(DeliveryDaily.status)).all()
    counts.update({status: int(n) for status, n in rows})
    return counts


def funnel(counts):
    """Cumulative stages: every text that reached a stage counts there (a delivered text was also
    queued and sent)."""
    total = sum(counts.values())
    reached_queue = total - counts[SKIPPED] - counts[CANCELLED] - counts[PENDING]
    handed = counts[SENT] + counts[DELIVERED] + counts[UNDELIVERED]
    return [
        {"stage": "total", "label": _("Recipients"), "count": total},
        {"stage": QUEUED, "label": _("Queued"), "count": reached_queue},
        {"stage": SENT, "label": _("Sent to the gateway"), "count": handed},
        {"stage": DELIVERED, "label": _("Delivered"), "count": counts[DELIVERED]},
        {"stage": UNDELIVERED, "label": _("Undelivered"), "count": counts[UNDELIVERED]},
        {"stage": FAILED, "label": _("Failed"), "count": counts[FAILED]},
        {"stage": SKIPPED, "label": _("Skipped"), "count": counts[SKIPPED]},
        {"stage": CANCELLED, "label": _("Cancelled"), "count": counts[CANCELLED]},
    ]


def percentile(sorted_values, p):
    """Linear interpolation between closest ranks (the same as PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def delivery_times(notice_id):
    """Seconds from the text's creation (dispatch) to its delivery receipt: median and 95th percentile."""
    seconds = epoch(Message.delivered_at) - epoch(Message.created_at)
    where = (Message.notice_id == notice_id, Message.delivered_at.is_not(None))
    if is_postgres():
        row = db.session.execute(select(
            func.percentile_cont(0.5).within_group(seconds), func.percentile_cont(0.95).within_group(seconds),
            func.count()).where(*where)).one()
        median, p95, n = row
    else:
        values = sorted(float(v) for v in db.session.scalars(select(seconds).where(*where)))
        median, p95, n = percentile(values, 0.5), percentile(values, 0.95), len(values)
    return {"median_seconds": None if median is None else round(float(median), 1),
            "p95_seconds": None if p95 is None else round(float(p95), 1), "delivered": n}


def failures(notice_id):
    """Failed and undelivered texts grouped by error code, with the code explained, largest first."""
    rows = db.session.execute(
        select(Message.error_code, func.count(), func.max(Message.error_message))
        .where(Message.notice_id == notice_id, Message.status.in_((FAILED, UNDELIVERED)))
        .group_by(Message.error_code)).all()
    if not rows and not db.session.scalar(select(func.count()).where(Message.notice_id == notice_id)):
        rows = [(code or None, int(n), None) for code, n in db.session.execute(
            select(DeliveryDaily.error_code, func.sum(DeliveryDaily.messages))
            .where(DeliveryDaily.notice_id == notice_id, DeliveryDaily.level == "",
                   DeliveryDaily.status.in_((FAILED, UNDELIVERED))).group_by(DeliveryDaily.error_code))]
    out = []
    for code, count, example in rows:
        info = error_table.explain(code)
        out.append({"error_code": code, "count": int(count), "example": example,
                    "title": str(info.title) if info else _("No error code"),
                    "advice": str(info.advice) if info else _("The gateway gave no code; see the message history."),
                    "transient": bool(info and info.transient)})
    return sorted(out, key=lambda r: (-r["count"], r["error_code"] or ""))


def delivered_series(notice_id):
    """[{"t": aware datetime, "delivered": n, "cumulative": n}] in even steps from the first
    delivery to the last, and the step in seconds."""
    e = epoch(Message.delivered_at)
    first, last = db.session.execute(select(func.min(e), func.max(e)).where(
        Message.notice_id == notice_id, Message.delivered_at.is_not(None))).one()
    if first is None:
        return {"step": None, "points": []}
    first, last = float(first), float(last)
    step = next((b for b in BUCKETS if (last - first) / b <= 60), BUCKETS[-1])
    origin = math.floor(first / step) * step
    bucket = func.floor((e - origin) / step)
    counts = dict(db.session.execute(select(bucket, func.count()).where(
        Message.notice_id == notice_id, Message.delivered_at.is_not(None)).group_by(bucket)).all())
    n_buckets = int((last - origin) // step) + 1
    points, running = [], 0
    for i in range(n_buckets):
        n = int(counts.get(i, counts.get(float(i), 0)))
        running += n
        points.append({"t": datetime.fromtimestamp(origin + (i + 1) * step, UTC), "delivered": n,
                       "cumulative": running})
    return {"step": step, "points": points}


def notice_report(notice):
    counts = status_counts(notice.id)
    handed = counts[SENT] + counts[DELIVERED] + counts[UNDELIVERED]
    finished = counts[DELIVERED] + counts[UNDELIVERED] + counts[FAILED]
    return {
        "notice_id": notice.id,
        "counts": counts,
        "total": sum(counts.values()),
        "status_labels": {k: str(v) for k, v in STATUS_LABELS.items()},
        "funnel": funnel(counts),
        "delivery_rate": round(counts[DELIVERED] / finished, 4) if finished else None,
        "segments": int(db.session.scalar(select(func.coalesce(func.sum(Message.segments), 0)).where(
            Message.notice_id == notice.id, Message.status.in_((SENT, DELIVERED, UNDELIVERED)))) or 0),
        "handed_to_gateway": handed,
        "times": delivery_times(notice.id),
        "replies": replies.tally(notice.id),
        "failures": failures(notice.id),
        "series": delivered_series(notice.id),
        "retryable": len(retryable_deputies(notice.id)),
    }


# --- retry failed ---------------------------------------------------------------------------------

def retryable_deputies(notice_id):
    """Deputies whose text of this notice failed for a transient reason, who can still be texted,
    and who did not get it some other way (a delivered or still-moving text of an earlier retry)."""
    rows = db.session.execute(
        select(Message.deputy_id, Message.error_code, Message.error_message)
        .join(Deputy, Deputy.id == Message.deputy_id)
        .where(Message.notice_id == notice_id, Message.status.in_((FAILED, UNDELIVERED)),
               Deputy.active.is_(True), Deputy.opted_out.is_(False))).all()
    ids = {r.deputy_id for r in rows if error_table.is_transient(r.error_code, r.error_message)}
    if not ids:
        return []
    follow_ups = retry_notices(notice_id)
    if follow_ups:
        covered = db.session.scalars(select(Message.deputy_id).where(
            Message.notice_id.in_(follow_ups), Message.deputy_id.in_(sorted(ids)),
            Message.status.not_in((FAILED, UNDELIVERED, SKIPPED, CANCELLED)))).all()
        ids -= set(covered)
        # A follow-up still waiting for approval or dispatch has these deputies in its audience.
        for notice in db.session.scalars(select(Notice).where(Notice.id.in_(follow_ups))):
            if notice.status in workflow.OPEN_STATUSES and notice.status != workflow.SENDING:
                ids -= set((notice.audience or {}).get("deputy_ids") or [])
    return sorted(ids)


def retry_notices(notice_id):
    """Ids of the follow-up notices made by "retry failed" for this notice."""
    return [n.id for n in followups.of(notice_id, RESEND)]


def unreached(notice_id):
    """Who the notice did not reach, for a call list: the deputies whose text failed or was not
    delivered and who were not reached by a resend since. [{"message_id", "deputy_id", "name",
    "to", "status", "error_code", "error_message", "no_such_number"}], by name."""
    rows = db.session.execute(
        select(Message.id, Message.deputy_id, Message.to, Message.status, Message.error_code, Message.error_message,
               Deputy.name)
        .join(Deputy, Deputy.id == Message.deputy_id, isouter=True)
        .where(Message.notice_id == notice_id, Message.status.in_((FAILED, UNDELIVERED)))
        .order_by(Deputy.name, Message.id)).all()
    resends = retry_notices(notice_id)
    reached = set()
    if resends and rows:
        reached = set(db.session.scalars(select(Message.deputy_id).where(
            Message.notice_id.in_(resends), Message.status == DELIVERED)))
    return [{"message_id": r.id, "deputy_id": r.deputy_id, "name": r.name, "to": r.to, "status": r.status,
             "error_code": r.error_code, "error_message": r.error_message,
             "no_such_number": error_table.number_does_not_exist(r.error_code)}
            for r in rows if r.deputy_id not in reached]


def resend_message(message, actor):
    """Send one deputy's failed text of a notice again, as a resend follow-up of that notice (the
    approved text again: it goes on the composer's word unless repeats need approval)."""
    if not actor.can("compose"):
        raise workflow.NotAllowed(_("Your role does not allow sending notices."))
    notice = db.session.get(Notice, message.notice_id) if message.notice_id else None
    if notice is None or message.status not in (FAILED, UNDELIVERED) or message.deputy_id is None:
        raise workflow.WorkflowError(_("Only a notice's text that failed or was not delivered can be sent again."))
    deputy = db.session.get(Deputy, message.deputy_id)
    if deputy is None or not deputy.active or deputy.opted_out:
        raise workflow.WorkflowError(_("This deputy has opted out or is inactive and cannot be texted."))

    def note(follow):
        record("notice.retry_failed", notice, actor=actor, retry_notice_id=follow.id, deputies=1,
               message_id=message.id)

    return followups.create(notice, RESEND, {
        "title": f"{notice.title}（重发）"[:200], "body": notice.body, "category": notice.category,
        "source": notice.source, "audience": {"deputy_ids": [deputy.id]}, "reply": notice.reply_mode,
        "reply_deadline": notice.reply_deadline if notice.reply_deadline and notice.reply_deadline > utcnow()
        else None, "urgent": notice.urgent,
    }, actor, on_created=note)


class NothingToRetry(workflow.WorkflowError):
    """No transiently failed text to send again (str() is translated)."""


def retry_failed(notice, actor):
    """Send the transiently failed texts again, as a follow-up of the notice to exactly those
    deputies: it repeats approved text, so it goes on the composer's word unless the office wants
    repeats approved again (notifier.notices.followups). Delivered texts are never sent again.
    Returns the follow-up notice."""
    if not actor.can("compose"):
        raise workflow.NotAllowed(_("Your role does not allow sending notices."))
    if notice.status not in (NOTICE_SENDING, COMPLETED):
        raise workflow.WorkflowError(_("Only a notice that has been sent can be retried."))
    deputy_ids = retryable_deputies(notice.id)
    if not deputy_ids:
        raise NothingToRetry(_("No text failed for a reason worth retrying."))
    def note(follow):
        record("notice.retry_failed", notice, actor=actor, retry_notice_id=follow.id, deputies=len(deputy_ids))

    return followups.create(notice, RESEND, {
        "title": f"{notice.title}（重发）"[:200], "body": notice.body, "category": notice.category,
        "source": notice.source, "audience": {"deputy_ids": deputy_ids}, "reply": notice.reply_mode,
        # A deadline already passed cannot be submitted again: the retry then asks without one.
        "reply_deadline": notice.reply_deadline if notice.reply_deadline and notice.reply_deadline > utcnow()
        else None, "urgent": notice.urgent,
    }, actor, on_created=note)
