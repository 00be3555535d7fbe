"""The outbox: message rows are written first, then their tasks are queued; tasks carry ids only.

    messages = create_messages(deputies, body, queue=True)   # rows `queued` (or `skipped`), tasks sent

Rows meant to be sent are written `queued` in the transaction that inserts them, so a crash after
that commit leaves rows the sweeper queues again; nothing waits on a second transaction. Rows
written `pending` (queue=False) wait for `enqueue`, and the sweeper queues any left so too long.
"""
import dataclasses

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value

from notifier.delivery import dispatch
from notifier.delivery.models import (
    CANCELLED,
    FINAL_STATUSES,
    PENDING,
    QUEUED,
    SKIPPED,
    Message,
    MessageEvent,
)
from notifier.delivery.segments import count_segments
from notifier.extensions import db
from notifier.roster.models import Deputy
from notifier.sql import id_in
from notifier.timeutil import utcnow


@dataclasses.dataclass
class Recipient:
    """A number to text, with its deputy when there is one and its own body when personalised."""

    to: str
    deputy_id: int = None
    body: str = None
    skip_reason: str = None
    template_params: dict = None  # this deputy's variables, for a template-only gateway


def default_sender(config=None):
    config = config or current_app.config
    return config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM_NUMBER") or ""


def _recipient(item):
    if isinstance(item, Recipient):
        return item
    if isinstance(item, Deputy):
        reason = None
        if item.opted_out:
            reason = "opted out"
        elif not item.active:
            reason = "inactive"
        return Recipient(to=item.phone, deputy_id=item.id, skip_reason=reason)
    if isinstance(item, dict):
        return Recipient(**item)
    if isinstance(item, str):
        return Recipient(to=item)
    raise TypeError(f"not a recipient: {item!r}")


def create_messages(recipients, body=None, notice_id=None, sender=None, commit=True, queue=False,
                    template_code=None, template_params=None):
    """One `messages` row per recipient (Deputy, Recipient, dict or E.164 string).

    Opted-out or inactive deputies get a `skipped` row with the reason, so the delivery log says
    why they got nothing. With a notice, a deputy who already has a message for it keeps that one
    (calling twice creates nothing new). Returns the rows, in recipient order.

    queue=True writes the new rows `queued` and, once committed here, queues their send tasks;
    with commit=False as well, call `send_queued(rows)` after your own commit (or leave them to
    the sweeper). Otherwise rows are `pending` until `enqueue`.

    template_code (and template_params, or each recipient's own) is what a template-only gateway
    (Aliyun) sends; `body` is then the text as the deputy reads it, for the log and the count.
    """
    sender = default_sender() if sender is None else sender
    now = utcnow()
    fresh = QUEUED if queue else PENDING
    existing = {}
    if notice_id is not None:
        existing = {m.deputy_id: m for m in db.session.scalars(select(Message).where(Message.notice_id == notice_id))}
    rows, new_rows, slots = [], [], []
    for item in recipients:
        recipient = _recipient(item)
        if recipient.deputy_id is not None and recipient.deputy_id in existing:
            rows.append(existing[recipient.deputy_id])
            continue
        text = recipient.body if recipient.body is not None else body
        if not text:
            raise ValueError("a message needs a body")
        info = count_segments(text)
        new_rows.append({"notice_id": notice_id, "deputy_id": recipient.deputy_id, "to": recipient.to, "body": text,
                         "segments": info.segments, "encoding": info.encoding, "sender": sender,
                         "status": SKIPPED if recipient.skip_reason else fresh,
                         "queued_at": None if recipient.skip_reason or not queue else now,
                         "error_message": recipient.skip_reason, "attempts": 0, "created_at": now, "updated_at": now,
                         "template_code": template_code,
                         "template_params": recipient.template_params if recipient.template_params is not None
                         else template_params})
        slots.append(len(rows))
        rows.append(None)
        if recipient.deputy_id is not None:
            existing[recipient.deputy_id] = True  # a repeated deputy in one call gets one row
    if new_rows:
        # One multi-row INSERT ... RETURNING (thousands of rows per notice), rows back in order.
        # Small pages: psycopg parses very long statements slowly.
        created = db.session.scalars(insert(Message).returning(Message, sort_by_parameter_order=True)
                                     .execution_options(insertmanyvalues_page_size=100), new_rows).all()
        for slot, message in zip(slots, created, strict=True):
            rows[slot] = message
        record_events([(m.id, "status", m.status, "worker", m.error_message)
                       for m in created if m.status in (SKIPPED, QUEUED)])
    rows = [r for r in rows if r is not None and r is not True]
    if commit:
        _commit_keeping(rows)
        if queue:
            send_queued(rows)
    return rows


def send_queued(rows, countdown=None):
    """Queue the send tasks of committed `queued` rows (Message objects or ids); the rows are the
    truth, so a task lost here is queued again by the sweeper."""
    ids = sorted({getattr(row, "id", row) for row in rows
                  if not isinstance(row, Message) or row.status == QUEUED})
    dispatch.send_messages(ids, countdown)
    return ids


def _commit_keeping(rows):
    """Commit, and keep the rows' loaded values: otherwise reading `m.id` on each of thousands of
    rows expired by the commit would reload them one SELECT at a time."""
    keys = [attr.key for attr in sa_inspect(Message).column_attrs]
    loaded = [(row, {key: row.__dict__[key] for key in keys if key in row.__dict__}) for row in rows]
    db.session.commit()
    for row, values in loaded:
        for key, value in values.items():
            set_committed_value(row, key, value)


def enqueue(message_ids, countdown=None):
    """Move pending (or stale queued) messages to `queued`, commit, then queue their send tasks.
    Returns the ids queued. Safe to call twice: only rows not yet sending are touched."""
    ids = sorted(set(message_ids))
    if not ids:
        return []
    now = utcnow()
    queued = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        queued += db.session.scalars(
            update(Message).where(id_in(Message.id, chunk), Message.status.in_((PENDING, QUEUED)))
            .values(status=QUEUED, queued_at=now, updated_at=now).returning(Message.id)
            # Rows in the session are expired by the commit below; do not scan them per chunk.
            .execution_options(synchronize_session=False)
        ).all()
    queued.sort()
    record_events([(mid, "status", QUEUED, "worker", None) for mid in queued])
    db.session.commit()  # rows first: a lost task is found again by the sweeper
    dispatch.send_messages(queued, countdown)
    return queued


def cancel(message_ids, reason=None, only_if=None):
    """Cancel messages not yet handed to the gateway (and meeting `only_if`, an SQL condition,
    when given); returns the ids cancelled. Commits."""
    now = utcnow()
    ids = db.session.scalars(
        update(Message).where(Message.id.in_(list(message_ids)), Message.status.in_((PENDING, QUEUED)),
                              *([only_if] if only_if is not None else []))
        .values(status=CANCELLED, error_message=reason, updated_at=now).returning(Message.id)
        .execution_options(synchronize_session=False)
    ).all()
    record_events([(mid, "status", CANCELLED, "worker", reason) for mid in ids])
    db.session.commit()
    return ids


def record_event(message_id, kind, status, source, detail=None, raw=None):
    record_events([(message_id, kind, status, source, detail)], raw=raw)


def record_events(rows, raw=None):
    """Insert events in one statement: (message_id, kind, status, source, detail) tuples."""
    if not rows:
        return
    now = utcnow()
    db.session.execute(insert(MessageEvent).execution_options(insertmanyvalues_page_size=200), [
        {"message_id": mid, "at": now, "kind": kind, "status": status, "source": source,
         "detail": (detail or None) and str(detail)[:500], "raw": raw}
        for mid, kind, status, source, detail in rows
    ])


def is_final(status):
    return status in FINAL_STATUSES
