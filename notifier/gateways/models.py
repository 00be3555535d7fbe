"""Each gateway's standing: the admins' order and pause, and its health as last seen.

Rows are written rarely (a health change, an admin's action), read once per send batch.
"""
from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

UP, REFUSING, MISCONFIGURED = "up", "refusing", "misconfigured"
HEALTH = (UP, REFUSING, MISCONFIGURED)


class GatewayState(db.Model):
    __tablename__ = "gateways"

    name = db.Column(db.String(16), primary_key=True)
    position = db.Column(db.Integer)  # the admins' order; NULL: as configured
    paused = db.Column(db.Boolean, nullable=False, default=False)
    health = db.Column(db.String(16), nullable=False, default=UP)
    detail = db.Column(db.String(500))  # the gateway's own words when it is not up
    health_since = db.Column(UTCDateTime, nullable=False, default=utcnow)
    checked_at = db.Column(UTCDateTime)  # last probe of a gateway that is not up
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self):
        return f"<GatewayState {self.name} {self.health}{' paused' if self.paused else ''}>"
