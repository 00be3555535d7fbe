"""Outbound messages, their events and every gateway exchange.

The `messages` table is the outbox: a row exists before any task is queued, and its status is the
truth about where a text is (Redis only carries work).
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

PENDING, QUEUED, SENDING, SENT = "pending", "queued", "sending", "sent"
DELIVERED, UNDELIVERED, FAILED, SKIPPED, CANCELLED = "delivered", "undelivered", "failed", "skipped", "cancelled"
STATUSES = (PENDING, QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED, FAILED, SKIPPED, CANCELLED)
FINAL_STATUSES = frozenset({DELIVERED, UNDELIVERED, FAILED, SKIPPED, CANCELLED})
STATUS_LABELS = {
    PENDING: _l("Pending"), QUEUED: _l("Queued"), SENDING: _l("Sending"), SENT: _l("Sent"),
    DELIVERED: _l("Delivered"), UNDELIVERED: _l("Undelivered"), FAILED: _l("Failed"), SKIPPED: _l("Skipped"),
    CANCELLED: _l("Cancelled"),
}
# Forward-only moves: a status may only be replaced by one of higher rank.
RANK = {PENDING: 0, QUEUED: 1, SENDING: 2, SENT: 3, **{s: 4 for s in FINAL_STATUSES}}


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        db.UniqueConstraint("notice_id", "deputy_id", name="uq_messages_notice_id_deputy_id"),
        # What the sweeper looks for: queued rows not moving, sending rows past their lease,
        # sent rows without a receipt.
        db.Index("ix_messages_status_queued_at", "status", "queued_at"),
        db.Index("ix_messages_status_claimed_at", "status", "claimed_at"),
        db.Index("ix_messages_status_sent_at", "status", "sent_at"),
        db.Index("ix_messages_gateway_status", "gateway", "status"),  # a connector's queue
        # Receipt polls due, and `sent` rows still open, without scanning the ones closed long ago.
        db.Index("ix_messages_receipts", "status", "receipt_closed_at", "receipt_poll_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    notice_id = db.Column(db.ForeignKey("notices.id"), index=True)  # NULL for one-off texts
    deputy_id = db.Column(db.ForeignKey("deputies.id", ondelete="SET NULL"), index=True)
    to = db.Column(db.String(20), nullable=False)  # E.164 snapshot at creation
    body = db.Column(db.Text, nullable=False)
    segments = db.Column(db.Integer, nullable=False, default=1)
    encoding = db.Column(db.String(8), nullable=False, default="UCS-2")
    sender = db.Column(db.String(64), nullable=False, default="")  # From or Messaging Service SID
    # The gateway that has (or is about to take) the text: set when it is claimed for an HTTP
    # gateway or handed to a connector's process; cleared when a failed try frees it again.
    gateway = db.Column(db.String(16))
    status = db.Column(db.String(16), nullable=False, default=PENDING)
    gateway_id = db.Column(db.String(64), unique=True)  # NULLs are distinct: unique where set
    gateway_status = db.Column(db.String(16))  # the gateway's own last word, for the log
    error_code = db.Column(db.String(64))  # Aliyun's codes are long (isv.BUSINESS_LIMIT_CONTROL)
    error_message = db.Column(db.String(500))
    # Template-only gateways (Aliyun) send an approved template and its variables, not the body;
    # the body is then the text as the deputy will read it (signature and all).
    template_code = db.Column(db.String(64))
    template_params = db.Column(db.JSON)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    claimed_at = db.Column(UTCDateTime)  # the database's clock; also the fence of the claim's writes
    # The first try (the database's clock): a text failing transiently is given up
    # SMS_GIVE_UP_AFTER_HOURS after it. Cleared when quiet hours hold the text.
    first_attempt_at = db.Column(UTCDateTime)
    queued_at = db.Column(UTCDateTime)  # last time a send task was queued for it
    sent_at = db.Column(UTCDateTime)
    delivered_at = db.Column(UTCDateTime)
    failed_at = db.Column(UTCDateTime)
    # `sent` without a final receipt: when the next poll of the gateway is due (NULL: none queued
    # yet, due SMS_RECEIPT_POLL_AFTER_SECONDS after sent_at), set when a poll is queued; and when
    # the text was closed as "sent, no receipt" after SMS_RECEIPT_MAX_AGE_HOURS. A closed text
    # stays `sent` (a late receipt still moves it on) but counts as settled for its notice.
    receipt_poll_at = db.Column(UTCDateTime)
    receipt_closed_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    deputy = db.relationship("Deputy")

    @property
    def is_final(self):
        return self.status in FINAL_STATUSES

    def __repr__(self):
        return f"<Message {self.id} {self.to} {self.status}>"


def unsettled():
    """SQL condition: a message that may still move (not final, and not closed without a receipt)."""
    return and_(Message.status.not_in(tuple(FINAL_STATUSES)),
                or_(Message.status != SENT, Message.receipt_closed_at.is_(None)))


class MessageEvent(db.Model):
    """Every status change and every callback of a message, for the delivery log."""

    __tablename__ = "message_events"
    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    kind = db.Column(db.String(16), nullable=False)  # status, callback, retry, error, reconcile
    status = db.Column(db.String(16))  # the message status after the event
    source = db.Column(db.String(16), nullable=False)  # worker, callback, sweeper, reconcile
    detail = db.Column(db.String(500))
    raw = db.Column(db.JSON)  # callback fields as received


class GatewayExchange(db.Model):
    """One HTTP call to the gateway, secrets redacted; purged after GATEWAY_EXCHANGE_RETENTION_DAYS."""

    __tablename__ = "gateway_exchanges"
    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    method = db.Column(db.String(8), nullable=False)
    url = db.Column(db.String(500), nullable=False)
    request = db.Column(db.JSON)
    response_status = db.Column(db.Integer)
    response_body = db.Column(db.Text)
    duration_ms = db.Column(db.Integer)
    error = db.Column(db.String(500))


class MessagePart(db.Model):
    """One part of a long text as a gateway that reports per part counts it (CMPP: one Msg_Id and
    one status report per part). A text is delivered when every part's report says so.

    A report can come before the answer that names its part is recorded: the row is then written
    with the report alone and joins its message when the answer is."""

    __tablename__ = "message_parts"
    id = db.Column(db.Integer, primary_key=True)
    gateway = db.Column(db.String(16), nullable=False)
    gateway_id = db.Column(db.String(64), nullable=False)
    message_id = db.Column(db.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    number = db.Column(db.Integer)  # 1-based; NULL until the answer is recorded
    total = db.Column(db.Integer)
    stat = db.Column(db.String(16))  # the carrier's report (DELIVRD, UNDELIV, ...); first one counts
    reported_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (db.UniqueConstraint("gateway", "gateway_id", name="uq_message_parts_gateway_gateway_id"),)
class GatewayCursor(db.Model):
    """How far one of a gateway's lists has been read (e.g. "twilio.inbound"), so that each
    catch-up starts where the last complete one did."""

    __tablename__ = "gateway_cursors"
    name = db.Column(db.String(64), primary_key=True)
    position = db.Column(UTCDateTime, nullable=False)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
