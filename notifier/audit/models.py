from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    user_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor = db.Column(db.String(64), nullable=False, default="")  # username snapshot, or "cli"/"system"
    action = db.Column(db.String(64), nullable=False, index=True)  # e.g. "roster.import"
    target_type = db.Column(db.String(32))
    target_id = db.Column(db.String(64))
    detail = db.Column(db.JSON, nullable=False, default=dict)
    ip = db.Column(db.String(64))
    user_agent = db.Column(db.String(255))
    # The chain (audit/chain.py): the previous row's hash, and this row's over its fields and that.
    prev_hash = db.Column(db.String(64))
    row_hash = db.Column(db.String(64))
