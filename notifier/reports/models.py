"""The daily aggregate table kept after retention, and the indexes the message log needs.

The log's indexes are declared here, on the delivery engine's `messages` table, so that the log's
query shapes and the indexes that serve them live side by side (each is "filter column, id": an
equality filter then the keyset order, so PostgreSQL reads one page straight off the index).
"""
from notifier.audit.models import AuditEvent
from notifier.delivery.models import Message
from notifier.extensions import db

db.Index("ix_messages_deputy_id_id", Message.deputy_id, Message.id)
db.Index("ix_messages_notice_id_id", Message.notice_id, Message.id)
db.Index("ix_messages_status_id", Message.status, Message.id)
db.Index("ix_messages_error_code_id", Message.error_code, Message.id)
db.Index("ix_messages_created_at", Message.created_at)
db.Index("ix_messages_to_id", Message.to, Message.id)
db.Index("ix_audit_events_actor_at", AuditEvent.actor, AuditEvent.at)


class DeliveryDaily(db.Model):
    """Messages counted per local day (of creation), notice, level, status and error code.

    `level` is "" for the all-levels row; a deputy at several levels is also counted once under
    each of their levels. Written by retention.rollup_day before anything of that day is purged,
    so the dashboard and notice reports keep their numbers.
    """

    __tablename__ = "delivery_daily"
    __table_args__ = (db.Index("ix_delivery_daily_day_notice_id", "day", "notice_id"),)

    id = db.Column(db.Integer, primary_key=True)
    day = db.Column(db.Date, nullable=False)
    notice_id = db.Column(db.Integer, index=True)
    level = db.Column(db.String(16), nullable=False, default="")
    status = db.Column(db.String(16), nullable=False)
    error_code = db.Column(db.String(16), nullable=False, default="")
    messages = db.Column(db.Integer, nullable=False, default=0)
    segments = db.Column(db.Integer, nullable=False, default=0)
