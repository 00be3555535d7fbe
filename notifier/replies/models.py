"""Inbound texts from deputies (and strangers), and the reminders sent for a notice."""
from flask_babel import lazy_gettext as _l

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

CONFIRM, DECLINE, TEXT, OPT_OUT, OPT_IN, HELP = "confirm", "decline", "text", "opt_out", "opt_in", "help"
# Duty work (issue 13): "收到" (received, not attending), 签到 on a meeting's day, a suggestion
# (建议 ...), a satisfaction rating of an answered suggestion.
ACK, SIGN_IN, SUGGESTION, RATING = "ack", "sign_in", "suggestion", "rating"
KINDS = (CONFIRM, DECLINE, ACK, TEXT, OPT_OUT, OPT_IN, HELP, SIGN_IN, SUGGESTION, RATING)
KIND_LABELS = {
    CONFIRM: _l("Confirmed"),
    DECLINE: _l("Declined"),
    TEXT: _l("Free-text reply"),  # not "Text", which is also the message body field
    OPT_OUT: _l("Opt-out"),
    OPT_IN: _l("Opt-in"),
    HELP: _l("Help"),
    ACK: _l("Received only"),
    SIGN_IN: _l("Sign-in"),
    SUGGESTION: _l("Suggestion"),
    RATING: _l("Satisfaction rating"),
}
# Kinds that answer a notice (the others are about the subscription, ask for help, or are duty work).
ANSWERS = (CONFIRM, DECLINE, ACK, TEXT)
# Why a text was read as its kind (replies.classify), as the inbox explains it.
REASON_LABELS = {
    "keyword": _l("The whole text is the keyword “%(word)s”."),
    "word": _l("The whole text is the answer “%(word)s”."),
    "digit": _l("It starts with %(word)s, as the reply instruction asks."),
    "starts_with": _l("It starts with “%(word)s”."),
    "negated": _l("It starts like a yes but also says “%(word)s”: read it yourself."),
    "declined_in_context": _l("“%(word)s” can also mean unsubscribe, but it answers a notice that asks to "
                              "confirm or decline: read as declining. The deputy stays subscribed."),
    "answer_in_context": _l("“%(word)s” can also mean unsubscribe, but it answers a notice that asks for a "
                            "written reply: kept as the answer. The deputy stays subscribed."),
    "free_text": _l("No answer word found: kept as free text."),
    "acknowledged": _l("“%(word)s” only says the text arrived: counted as received, not as confirmed."),
    "sign_in": _l("“%(word)s” on the day of a meeting the deputy is invited to: signed in."),
    "sign_in_no_meeting": _l("“%(word)s”, but the deputy is invited to no meeting today: nothing was signed."),
    "suggestion": _l("It starts with 建议 or JY: recorded as suggestion %(word)s."),
    "suggestion_unknown": _l("It starts with 建议 or JY, but the sender is not on the roster: no suggestion "
                             "was recorded."),
    "suggestion_empty": _l("It starts with “%(word)s” but says nothing more: no suggestion was recorded."),
    "rating": _l("Rates the answer to suggestion %(word)s."),
    "empty": _l("The text is empty."),
    "question": _l("The text is only a question mark."),
}


class InboundMessage(db.Model):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        db.Index("ix_inbound_messages_notice_id_deputy_id", "notice_id", "deputy_id"),
        db.Index("ix_inbound_messages_deputy_id_received_at", "deputy_id", "received_at"),
        db.Index("ix_inbound_messages_received_at_id", "received_at", "id"),  # the inbox's keyset pages
    )

    id = db.Column(db.Integer, primary_key=True)
    gateway_id = db.Column(db.String(64), nullable=False, unique=True)  # Twilio MessageSid: replays stored once
    from_number = db.Column(db.String(32), nullable=False)  # as the gateway sent it
    to_number = db.Column(db.String(32), nullable=False, default="")
    body = db.Column(db.Text, nullable=False, default="")
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    deputy_id = db.Column(db.ForeignKey("deputies.id", ondelete="SET NULL"))
    notice_id = db.Column(db.ForeignKey("notices.id", ondelete="SET NULL"))
    kind = db.Column(db.String(16), nullable=False, default=TEXT, index=True)
    code = db.Column(db.String(8))  # the reply code written in the text, if any
    # Why the text was read as `kind` (a rule of replies.classify) and the word that decided it.
    reason = db.Column(db.String(32))
    reason_word = db.Column(db.String(40))
    late = db.Column(db.Boolean, nullable=False, default=False)  # after the notice's reply deadline
    read_at = db.Column(UTCDateTime)
    read_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))
    handled_at = db.Column(UTCDateTime)
    handled_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))

    deputy = db.relationship("Deputy")
    notice = db.relationship("Notice")
    read_by = db.relationship("User", foreign_keys=[read_by_id])
    handled_by = db.relationship("User", foreign_keys=[handled_by_id])

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def reason_label(self):
        label = REASON_LABELS.get(self.reason)
        return str(label) % {"word": self.reason_word or ""} if label is not None else ""

    def __repr__(self):
        return f"<InboundMessage {self.id} {self.from_number} {self.kind}>"


class Reminder(db.Model):
    """A follow-up notice sent to the deputies who had not replied to `notice_id`."""

    __tablename__ = "notice_reminders"

    id = db.Column(db.Integer, primary_key=True)
    notice_id = db.Column(db.ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, index=True)
    reminder_notice_id = db.Column(db.ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, unique=True)
    automatic = db.Column(db.Boolean, nullable=False, default=False)
    deputy_count = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"))

    reminder_notice = db.relationship("Notice", foreign_keys=[reminder_notice_id])
