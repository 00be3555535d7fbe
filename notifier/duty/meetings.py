"""Meetings: a notice of category `meeting` is an invitation. Its invitees are the deputies it was
sent to; each has a status at any time:
- `attended` once signed in (at the door, by texting 签到 on the day, or set so by staff);
- `leave` when they replied 2 / 请假 (the words after it kept as the reason) or staff set it;
- `absent` otherwise, until one of the above.
What staff set wins over the reply; the reply (confirmed, declined, received only...) stays
beside the status as a field of its own.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from notifier.audit.service import record
from notifier.delivery.models import CANCELLED as MESSAGE_CANCELLED
from notifier.delivery.models import SKIPPED, Message
from notifier.duty.models import ABSENT, ATTENDANCE_STATUSES, ATTENDED, LEAVE, VIA, Attendance
from notifier.extensions import db
from notifier.notices.models import CANCELLED, DRAFT, REJECTED, Notice
from notifier.replies.classify import leave_reason
from notifier.replies.models import DECLINE, OPT_OUT
from notifier.replies.service import _TALLY_OF, answers, recipients
from notifier.timeutil import utcnow

MEETING = "meeting"
NOT_SENT = (DRAFT, REJECTED, CANCELLED)


class AttendanceInvalid(ValueError):
    """.errors = {field: [messages]} (translated)."""

    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


class NotAMeeting(ValueError):
    """Attendance asked of a notice that is no meeting invitation (str() translated)."""


class NotAllowed(PermissionError):
    """The user's role may read attendance but not record it."""


def is_meeting(notice):
    return notice is not None and notice.category == MEETING


def _require_meeting(notice):
    if not is_meeting(notice):
        raise NotAMeeting(_("This notice is not a meeting invitation."))
    if notice.status in NOT_SENT:
        raise NotAMeeting(_("The invitation has not been sent: there is no attendance yet."))


def attendance(notice):
    """Every invitee, by name: [{"deputy_id", "name", "status", "reply", "reply_text", "leave_reason",
    "replied_at", "signed_in_at", "via", "recorded"}]; `reply` is confirmed, declined, received,
    other, opted_out or None (no reply)."""
    _require_meeting(notice)
    invited = recipients(notice.id)
    replies = answers(notice.id)
    recorded = {row.deputy_id: row for row in db.session.scalars(
        select(Attendance).where(Attendance.notice_id == notice.id))}
    rows = []
    for deputy_id, name in sorted(invited.items(), key=lambda item: (item[1], item[0])):
        reply, row = replies.get(deputy_id), recorded.get(deputy_id)
        on_leave = reply is not None and reply.kind == DECLINE
        status = row.status if row is not None else (LEAVE if on_leave else ABSENT)
        rows.append({
            "deputy_id": deputy_id, "name": name, "status": status,
            "reply": None if reply is None else ("opted_out" if reply.kind == OPT_OUT else _TALLY_OF[reply.kind]),
            "reply_text": reply.body if reply is not None else None,
            "leave_reason": (leave_reason(reply.body) or None) if on_leave else None,
            "replied_at": reply.received_at.isoformat() if reply is not None else None,
            "signed_in_at": row.signed_in_at.isoformat() if row is not None and row.signed_in_at else None,
            "via": row.via if row is not None else None, "recorded": row is not None,
        })
    return rows


def summary(rows):
    """{"attended": n, "leave": n, "absent": n, "invited": n} of attendance(notice)."""
    counts = {status: 0 for status in ATTENDANCE_STATUSES}
    for row in rows:
        counts[row["status"]] += 1
    counts["invited"] = len(rows)
    return counts


def set_status(notice, deputy_id, status, actor, via="staff", inbound_id=None, now=None, commit=True):
    """Record an invitee's status (attended, leave, absent). Audited as meeting.attendance.
    NotAllowed for a role that may not act, NotAMeeting, AttendanceInvalid for bad fields."""
    if not isinstance(actor, str) and not actor.can("compose"):
        raise NotAllowed(_("Your role does not allow recording attendance."))
    _require_meeting(notice)
    errors = {}
    if status not in ATTENDANCE_STATUSES:
        errors["status"] = [_("Choose one of: %(choices)s.", choices=", ".join(ATTENDANCE_STATUSES))]
    if via not in VIA:
        errors["via"] = [_("Choose one of: %(choices)s.", choices=", ".join(VIA))]
    invited = recipients(notice.id)
    if isinstance(deputy_id, bool) or not isinstance(deputy_id, int) or deputy_id not in invited:
        errors["deputy_id"] = [_("This deputy was not invited to the meeting.")]
    if errors:
        raise AttendanceInvalid(errors)
    now = now or utcnow()
    row = db.session.scalar(select(Attendance).where(Attendance.notice_id == notice.id,
                                                     Attendance.deputy_id == deputy_id).with_for_update())
    if row is None:
        row = Attendance(notice_id=notice.id, deputy_id=deputy_id)
        db.session.add(row)
    before = row.status
    row.status, row.via = status, via
    row.set_by_id = None if isinstance(actor, str) else actor.id
    if status == ATTENDED:
        row.signed_in_at = row.signed_in_at if before == ATTENDED and row.signed_in_at else now
        row.inbound_id = inbound_id or (row.inbound_id if before == ATTENDED else None)
    else:
        row.signed_in_at = row.inbound_id = None
    record("meeting.attendance", notice, actor=actor, deputy_id=deputy_id, status=status, via=via,
           previous=before)
    if commit:
        try:
            db.session.commit()
        except IntegrityError:  # the same invitee recorded by two people at once: the other one stands
            db.session.rollback()
            return db.session.scalar(select(Attendance).where(Attendance.notice_id == notice.id,
                                                              Attendance.deputy_id == deputy_id))
    return row


def _local_day(now):
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    start = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def meeting_today(deputy, now, notice=None):
    """The meeting the deputy was invited to that is held on the local day of `now` (the notice a
    code named, when it is such a meeting), or None."""
    if deputy is None:
        return None
    start, end = _local_day(now)
    query = (select(Notice).join(Message, and_(Message.notice_id == Notice.id, Message.deputy_id == deputy.id))
             .where(Notice.category == MEETING, Notice.status.not_in(NOT_SENT), Notice.meeting_at >= start,
                    Notice.meeting_at < end, Message.status.not_in((SKIPPED, MESSAGE_CANCELLED))))
    if notice is not None and is_meeting(notice):
        named = db.session.scalar(query.where(Notice.id == notice.id).limit(1))
        if named is not None:
            return named
    meetings = db.session.scalars(query).unique().all()
    # Several the same day: the one starting nearest to now.
    return min(meetings, key=lambda n: abs((n.meeting_at - now).total_seconds()), default=None)


def sign_in_by_text(deputy, inbound, now, notice=None):
    """A 签到 text: sign the deputy in to today's meeting (uncommitted). Returns the meeting or None."""
    meeting = meeting_today(deputy, now, notice)
    if meeting is None:
        return None
    set_status(meeting, deputy.id, ATTENDED, actor="sms", via="sms", inbound_id=inbound.id, now=now, commit=False)
    return meeting
