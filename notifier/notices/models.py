"""The notice row and the small settings table."""
import re

from flask_babel import lazy_gettext as _l

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

CATEGORIES = ("major_decision", "meeting", "activity", "knowledge", "other")
CATEGORY_LABELS = {
    "major_decision": _l("Major decision"),
    "meeting": _l("Meeting"),
    "activity": _l("Activity"),
    "knowledge": _l("Duty knowledge"),
    "other": _l("Other"),
}
SOURCES = ("county_committee", "government", "congress", "court", "procuratorate", "other")
SOURCE_LABELS = {
    "county_committee": _l("County party committee"),
    "government": _l("Government"),
    "congress": _l("People's congress"),
    "court": _l("Court"),
    "procuratorate": _l("Procuratorate"),
    "other": _l("Other"),
}
REPLY_MODES = ("none", "confirm", "text")
REPLY_LABELS = {
    "none": _l("No reply"),
    "confirm": _l("Reply 1 to confirm, 2 to decline"),
    "text": _l("Free text reply"),
}

DRAFT, PENDING_APPROVAL, APPROVED, SCHEDULED = "draft", "pending_approval", "approved", "scheduled"
SENDING, COMPLETED, REJECTED, CANCELLED = "sending", "completed", "rejected", "cancelled"
STATUSES = (DRAFT, PENDING_APPROVAL, APPROVED, SCHEDULED, SENDING, COMPLETED, REJECTED, CANCELLED)
STATUS_LABELS = {
    DRAFT: _l("Draft"),
    PENDING_APPROVAL: _l("Pending approval"),
    APPROVED: _l("Approved"),
    SCHEDULED: _l("Scheduled"),
    SENDING: _l("Sending"),
    COMPLETED: _l("Completed"),
    REJECTED: _l("Rejected"),
    CANCELLED: _l("Cancelled"),
}
# A follow-up belongs to the notice it follows up: its page lists them and replies count there.
REMINDER, RESEND, REPLY = "reminder", "resend", "reply"
FOLLOW_UPS = (REMINDER, RESEND, REPLY)
FOLLOW_UP_LABELS = {
    REMINDER: _l("Reminder"),
    RESEND: _l("Resend of failed texts"),
    REPLY: _l("Reply to a deputy"),
}
# Statuses that may still send texts or are waiting to: cancel applies to these.
OPEN_STATUSES = (DRAFT, PENDING_APPROVAL, APPROVED, SCHEDULED, SENDING, REJECTED)


class Notice(db.Model):
    __tablename__ = "notices"
    __table_args__ = (
        db.Index("ix_notices_status_send_after", "status", "send_after"),
        db.Index("ix_notices_created_at_id", "created_at", "id"),  # the list's keyset pages
    )

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False)
    category = db.Column(db.String(32), nullable=False, default="other")
    source = db.Column(db.String(32), nullable=False, default="other")
    # {"levels": [codes], "tags": [names], "deputy_ids": [ids]}: any of them (a union).
    audience = db.Column(db.JSON, nullable=False, default=dict)
    reply_mode = db.Column(db.String(16), nullable=False, default="none")
    reply_deadline = db.Column(UTCDateTime)
    reply_code = db.Column(db.String(8), index=True)  # "27": threads replies; unique among open notices
    scheduled_at = db.Column(UTCDateTime)  # None: send on approval
    send_after = db.Column(UTCDateTime)  # when dispatch may start: scheduled_at or the end of quiet hours
    urgent = db.Column(db.Boolean, nullable=False, default=False)
    # A meeting invitation (category "meeting"): when and where; sign-in by text works that day.
    meeting_at = db.Column(UTCDateTime)
    meeting_place = db.Column(db.String(200))
    status = db.Column(db.String(24), nullable=False, default=DRAFT, index=True)

    created_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Who last changed what goes out (text, audience, times...): like the author, never its approver.
    last_edited_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    approved_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    rejected_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason = db.Column(db.String(500))
    # Composed from an approved template (template-only gateways): the staff's values for its
    # variables; `body` then holds the template's text with them, for lists and the log.
    template_id = db.Column(db.ForeignKey("sms_templates.id", ondelete="SET NULL"))
    template_params = db.Column(db.JSON)

    parent_id = db.Column(db.ForeignKey("notices.id", ondelete="SET NULL"), index=True)
    follow_up = db.Column(db.String(16))  # reminder, resend, reply; None for a notice of its own

    recipient_count = db.Column(db.Integer)  # messages materialised (sendable + skipped)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    submitted_at = db.Column(UTCDateTime)
    approved_at = db.Column(UTCDateTime)
    rejected_at = db.Column(UTCDateTime)
    sending_at = db.Column(UTCDateTime)  # dispatch started
    dispatched_at = db.Column(UTCDateTime)  # every message row written
    completed_at = db.Column(UTCDateTime)
    cancelled_at = db.Column(UTCDateTime)

    created_by = db.relationship("User", foreign_keys=[created_by_id])
    last_edited_by = db.relationship("User", foreign_keys=[last_edited_by_id])
    approved_by = db.relationship("User", foreign_keys=[approved_by_id])
    rejected_by = db.relationship("User", foreign_keys=[rejected_by_id])
    cancelled_by = db.relationship("User", foreign_keys=[cancelled_by_id])
    template = db.relationship("SmsTemplate")
    parent = db.relationship("Notice", remote_side=[id], foreign_keys=[parent_id])

    @property
    def follow_up_label(self):
        return FOLLOW_UP_LABELS.get(self.follow_up, self.follow_up)

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def category_label(self):
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def source_label(self):
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def reply_label(self):
        return REPLY_LABELS.get(self.reply_mode, self.reply_mode)

    def __repr__(self):
        return f"<Notice {self.id} {self.status}>"


TEMPLATE_GATEWAYS = ("aliyun",)
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,31})\}")


def variables(text):
    """The ${var} names of a template text, in order, each once."""
    return list(dict.fromkeys(VARIABLE.findall(text or "")))


class SmsTemplate(db.Model):
    __tablename__ = "sms_templates"
    __table_args__ = (db.UniqueConstraint("gateway", "code", name="uq_sms_templates_gateway_code"),)

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(64), nullable=False)  # e.g. SMS_123456789, as the gateway named it
    gateway = db.Column(db.String(16), nullable=False, default="aliyun")
    name = db.Column(db.String(100), nullable=False, default="")
    text = db.Column(db.Text, nullable=False)  # the approved text, with ${var} variables
    approved = db.Column(db.Boolean, nullable=False, default=True)
    created_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    @property
    def variables(self):
        return variables(self.text)

    def to_dict(self):
        return {"id": self.id, "code": self.code, "gateway": self.gateway, "name": self.name, "text": self.text,
                "variables": self.variables, "approved": self.approved,
                "created_at": self.created_at.isoformat() if self.created_at else None}



class Setting(db.Model):
    """Switches an administrator may change at run time (e.g. whether notices need approval)."""

    __tablename__ = "settings"
    key = db.Column(db.String(64), primary_key=True)
    value = db.Column(db.JSON)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
