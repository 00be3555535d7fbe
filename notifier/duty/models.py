"""Rows of duty work: who attended a meeting."""
from flask_babel import lazy_gettext as _l

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

ATTENDED, LEAVE, ABSENT = "attended", "leave", "absent"
ATTENDANCE_STATUSES = (ATTENDED, LEAVE, ABSENT)
ATTENDANCE_LABELS = {ATTENDED: _l("Attended"), LEAVE: _l("On leave"), ABSENT: _l("Absent")}
# How a status was recorded: at the door (the sign-in page), by the deputy's 签到 text, by staff
# on the notice page, or through the API.
VIA = ("door", "sms", "staff", "api")
VIA_LABELS = {"door": _l("Signed in at the door"), "sms": _l("Texted 签到"), "staff": _l("Set by staff"),
              "api": _l("Set through the API")}


class Attendance(db.Model):
    """What staff (or the deputy's 签到) recorded for one invitee of a meeting. Without a row an
    invitee is on leave if they replied so, else absent (notifier.duty.meetings)."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (db.UniqueConstraint("notice_id", "deputy_id"),)

    id = db.Column(db.Integer, primary_key=True)
    notice_id = db.Column(db.ForeignKey("notices.id", ondelete="CASCADE"), nullable=False)
    deputy_id = db.Column(db.ForeignKey("deputies.id", ondelete="CASCADE"), nullable=False, index=True)
    status = db.Column(db.String(16), nullable=False)
    via = db.Column(db.String(16), nullable=False)
    signed_in_at = db.Column(UTCDateTime)
    inbound_id = db.Column(db.ForeignKey("inbound_messages.id", ondelete="SET NULL"))  # the 签到 text
    set_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    set_by = db.relationship("User")


RECEIVED, ASSIGNED, ANSWERED = "received", "assigned", "answered"
SUGGESTION_STATUSES = (RECEIVED, ASSIGNED, ANSWERED)
SUGGESTION_STATUS_LABELS = {RECEIVED: _l("Awaiting assignment"), ASSIGNED: _l("Assigned"), ANSWERED: _l("Answered")}
SATISFIED, BASICALLY_SATISFIED, DISSATISFIED = "satisfied", "basically_satisfied", "dissatisfied"
SATISFACTIONS = (SATISFIED, BASICALLY_SATISFIED, DISSATISFIED)
SATISFACTION_LABELS = {SATISFIED: _l("Satisfied"), BASICALLY_SATISFIED: _l("Basically satisfied"),
                       DISSATISFIED: _l("Dissatisfied")}
SOURCES = ("sms", "paper", "api")
SOURCE_LABELS = {"sms": _l("By text"), "paper": _l("On paper"), "api": _l("Through the API")}


class Suggestion(db.Model):
    """A deputy's suggestion (代表建议), numbered per year (2026-001), handled to an answer."""

    __tablename__ = "suggestions"
    __table_args__ = (db.UniqueConstraint("year", "seq"),)

    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(16), nullable=False, unique=True)  # "2026-001"
    year = db.Column(db.Integer, nullable=False)
    seq = db.Column(db.Integer, nullable=False)
    deputy_id = db.Column(db.ForeignKey("deputies.id", ondelete="CASCADE"), nullable=False, index=True)
    text = db.Column(db.Text, nullable=False)
    source = db.Column(db.String(16), nullable=False, default="sms")
    inbound_id = db.Column(db.ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    status = db.Column(db.String(16), nullable=False, default=RECEIVED, index=True)
    organ = db.Column(db.String(100))
    due_date = db.Column(db.Date)
    assigned_at = db.Column(UTCDateTime)
    assigned_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    answer = db.Column(db.Text)
    answered_at = db.Column(UTCDateTime)
    answered_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    # The text telling the deputy it was answered (their 1/2/3 rates it).
    answer_message_id = db.Column(db.ForeignKey("messages.id", ondelete="SET NULL"))
    satisfaction = db.Column(db.String(24))
    rated_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    deputy = db.relationship("Deputy")

    @property
    def status_label(self):
        return SUGGESTION_STATUS_LABELS.get(self.status, self.status)

    @property
    def satisfaction_label(self):
        return SATISFACTION_LABELS.get(self.satisfaction, "") if self.satisfaction else ""

    @property
    def source_label(self):
        return SOURCE_LABELS.get(self.source, self.source)
