"""The tamper-evident audit trail: each row carries the hash of the row before it and a hash
over its own fields and that one (SHA-256), so a row changed, removed or slipped in breaks the
chain from there on; `notifier audit verify` walks it.

Writers are serialised on the chain head: on PostgreSQL the flush that adds audit rows first takes
a transaction-scoped advisory lock, then reads the last hash, so two transactions never chain onto
the same row; the lock ends with the transaction. (SQLite, the demo's database, has one writer at
a time anyway.) Rows are never updated or deleted by the application; on PostgreSQL a trigger
refuses it outright, except deleting rows older than the retention floor (AUDIT_RETENTION_DAYS,
at least 180 days), which the purge does, leaving a chained `audit.purge` row as the new anchor.
"""
import hashlib
import json
from datetime import UTC

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from notifier.audit.models import AuditEvent
from notifier.timeutil import utcnow

GENESIS = "0" * 64
LOCK_KEY = 0x6E746661756474  # any constant shared by every writer ("ntfaudt")
RETENTION_FLOOR_DAYS = 180


def row_digest(row, prev_hash):
    """The hash of one row: its fields as canonical JSON, and the previous row's hash."""
    at = row.at.astimezone(UTC).isoformat(timespec="microseconds") if row.at else None
    fields = [prev_hash, at, row.user_id, row.actor, row.action, row.target_type, row.target_id,
              row.detail or {}, row.ip, row.user_agent]
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _head(session):
    return session.execute(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()


@event.listens_for(Session, "before_flush")
def _chain_new_rows(session, flush_context, instances):
    new = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.row_hash is None]
    if not new:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    prev = _head(session) or GENESIS
    # The order the unit of work inserts them in, so ids rise along the chain.
    for row in sorted(new, key=lambda obj: inspect(obj).insert_order):
        if row.at is None:
            row.at = utcnow()
        if row.detail is None:
            row.detail = {}
        row.prev_hash = prev
        row.row_hash = prev = row_digest(row, prev)


class Break:
    def __init__(self, row_id, reason):
        self.row_id, self.reason = row_id, reason

    def __str__(self):
        return f"audit row {self.row_id}: {self.reason}"


def verify(session, batch=5000):
    """Walk the chain in id order. Returns (rows checked, head hash, [Break...])."""
    breaks, checked, prev, last_id, first = [], 0, None, 0, True
    anchors = None
    while True:
        rows = session.execute(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
                               .limit(batch)).scalars().all()
        if not rows:
            break
        for row in rows:
            if first:
                first = False
                if row.prev_hash != GENESIS:
                    anchors = anchors if anchors is not None else _purge_anchors(session)
                    if row.prev_hash not in anchors:
                        breaks.append(Break(row.id, "the first row does not start the chain (rows before it removed)"))
            elif row.prev_hash != prev:
                breaks.append(Break(row.id, "does not follow the row before it (a row removed or inserted)"))
            if row.row_hash != row_digest(row, row.prev_hash):
                breaks.append(Break(row.id, "its contents were changed"))
            prev, last_id = row.row_hash, row.id
            checked += 1
        session.expunge_all()
    return checked, prev, breaks


def _purge_anchors(session):
    """Hashes a purge left as the start of what remains (from its chained `audit.purge` rows)."""
    rows = session.execute(select(AuditEvent.detail).where(AuditEvent.action == "audit.purge")).scalars()
    return {detail.get("last_hash") for detail in rows if isinstance(detail, dict)}


def purge(session, days, now=None):
    """Delete audit rows older than `days` (never fewer than RETENTION_FLOOR_DAYS), oldest first,
    and record the hash they ended on, so the chain can still be checked from there."""
    from datetime import timedelta

    from notifier.audit.service import record

    days = max(int(days), RETENTION_FLOOR_DAYS)
    cutoff = (now or utcnow()) - timedelta(days=days)
    last = session.execute(select(AuditEvent.id, AuditEvent.row_hash).where(AuditEvent.at < cutoff)
                           .order_by(AuditEvent.id.desc()).limit(1)).first()
    if last is None:
        return 0
    deleted = session.execute(AuditEvent.__table__.delete().where(AuditEvent.id <= last.id)).rowcount
    record("audit.purge", actor="system", through_id=last.id, last_hash=last.row_hash, rows=deleted, days=days)
    session.commit()
    return deleted
