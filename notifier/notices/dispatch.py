"""From an approved notice to message rows handed to the delivery engine, and back to `completed`.

Dispatch writes one `messages` row per deputy in chunks (a Core INSERT each), already `queued`,
and hands each chunk to the workers as soon as it is committed, so the first texts leave while the
rest of a large audience is still being written, and a crash after any commit leaves rows the
sweeper queues again. Each chunk is written under a lock on the notice row, and cancel takes the
same lock: once cancel has committed, no further chunk is written, and every row already written is
visible to its UPDATE.
"""
import logging
import time
from datetime import timedelta

from sqlalchemy import exists, func, insert, select, update

from notifier.audit.service import record
from notifier.delivery import dispatch as seam
from notifier.delivery import outbox
from notifier.delivery.models import PENDING, QUEUED, SKIPPED, STATUSES, Message, unsettled
from notifier.extensions import db
from notifier.notices import rendering, templates
from notifier.notices.audience import audience_query, skip_reason
from notifier.notices.config import conf
from notifier.notices.models import APPROVED, CANCELLED, COMPLETED, SCHEDULED, SENDING, Notice
from notifier.notices.schedule import quiet_until
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
DISPATCH_TASK = "notices.dispatch"
FIRST_CHUNK = 20  # small, so the first send task is small and its texts leave within moments


def request_dispatch(notice_id):
    """The seam to the broker: a worker runs dispatch_notice(notice_id). If the task is lost, the
    periodic tick finds the notice still `approved` and asks again."""
    seam.send_task(DISPATCH_TASK, [notice_id], seam.PERIODIC_QUEUE)


def _locked_status(notice_id):
    """The notice's status, read under a row lock held until the next commit."""
    return db.session.execute(select(Notice.status).where(Notice.id == notice_id).with_for_update()).scalar()


def dispatch_notice(notice_id):
    """Materialise and queue the notice's messages. Idempotent: only the caller that moves the
    notice from `approved` to `sending` writes; a resume skips deputies already written."""
    now = utcnow()
    started = db.session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.status == APPROVED)
        .values(status=SENDING, sending_at=now, updated_at=now)).rowcount
    if not started:
        notice = db.session.get(Notice, notice_id)
        if notice is None or notice.status != SENDING or notice.dispatched_at is not None:
            db.session.rollback()
            return {"written": 0, "queued": 0}
    if started:
        record("notice.send", db.session.get(Notice, notice_id), actor="system")
    db.session.commit()

    notice = db.session.get(Notice, notice_id)
    spec = notice.audience or {}
    body, mode, code, deadline = notice.body, notice.reply_mode, notice.reply_code, notice.reply_deadline
    template = notice.template if notice.template_id is not None else None
    personal = template is not None or bool(rendering.placeholders_in(body))
    shared = None if personal else rendering.render_text(body, None, mode, code, deadline)
    sender = outbox.default_sender()
    measure = rendering.SegmentCache()
    size = max(1, conf("NOTICE_DISPATCH_CHUNK"))
    written = queued = 0
    clock = time.monotonic()
    db.session.commit()
    # The audience is read a chunk at a time (keyset on id), so the first chunk is written and
    # queued without waiting for a large audience to be read; deputies already written (a resumed
    # dispatch) are left out by the NOT EXISTS.
    after, limit = 0, min(FIRST_CHUNK, size)
    while True:
        if _locked_status(notice_id) != SENDING:  # cancelled: write nothing more
            db.session.rollback()
            break
        chunk = db.session.execute(
            audience_query(spec).where(Deputy.id > after, ~exists().where(
                Message.notice_id == notice_id, Message.deputy_id == Deputy.id)).limit(limit)).all()
        if not chunk:
            db.session.commit()
            total = db.session.scalar(select(func.count()).select_from(Message).where(Message.notice_id == notice_id))
            db.session.execute(update(Notice).where(Notice.id == notice_id, Notice.status == SENDING)
                               .values(dispatched_at=utcnow(), recipient_count=total))
            db.session.commit()
            complete_if_done(notice_id)
            break
        after, limit = chunk[-1].id, size
        stamp = utcnow()
        values = []
        for row in chunk:
            reason, extra = skip_reason(row), {"template_code": None, "template_params": None}
            if template is not None:
                # The approved text, its variables filled for this deputy: what the gateway sends.
                (_deputy, params, text, problem), = templates.texts_for(notice, [row], code)
                extra = {"template_code": template.code, "template_params": params}
                reason = reason or (problem and f"template variable: {problem}"[:500])
            else:
                text = rendering.render_text(body, row, mode, code, deadline, checked=True) if personal else shared
            info = measure(text)
            values.append({"notice_id": notice_id, "deputy_id": row.id, "to": row.phone, "body": text,
                           "segments": info.segments, "encoding": info.encoding, "sender": sender,
                           "status": SKIPPED if reason else QUEUED, "queued_at": None if reason else stamp,
                           "error_message": reason, "attempts": 0, "created_at": stamp, "updated_at": stamp,
                           **extra})
        inserted = db.session.execute(insert(Message).returning(Message.id, Message.status, Message.error_message),
                                      values).all()
        outbox.record_events([(r.id, "status", r.status, "worker", r.error_message) for r in inserted])
        db.session.commit()  # releases the lock: cancel may now take it
        written += len(inserted)
        queued += len(outbox.send_queued([r.id for r in inserted if r.status == QUEUED]))
        if written == len(inserted):
            log.info("notice %s: first %s messages queued %.3fs after dispatch started", notice_id, written,
                     time.monotonic() - clock)
    log.info("notice %s: %s messages written, %s queued in %.3fs", notice_id, written, queued,
             time.monotonic() - clock)
    return {"written": written, "queued": queued}


def cancel_messages(notice_id, reason="notice cancelled"):
    """Cancel the notice's messages not yet handed to the gateway; returns how many."""
    ids = db.session.scalars(select(Message.id).where(Message.notice_id == notice_id,
                                                      Message.status.in_((PENDING, QUEUED)))).all()
    cancelled = 0
    for start in range(0, len(ids), 1000):
        cancelled += len(outbox.cancel(ids[start:start + 1000], reason=reason))
    return cancelled


def complete_if_done(notice_id):
    """`sending` -> `completed` once every message is written and settled (final, or closed as
    "sent, no receipt"). True when it moved."""
    now = utcnow()
    unfinished = exists().where(Message.notice_id == Notice.id, unsettled())  # "sent, no receipt" is settled
    moved = db.session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.status == SENDING, Notice.dispatched_at.is_not(None),
                             ~unfinished).values(status=COMPLETED, completed_at=now, updated_at=now)).rowcount
    if moved:
        record("notice.complete", db.session.get(Notice, notice_id), actor="system")
    db.session.commit()
    return bool(moved)


def counts(notice_id):
    """Messages of the notice by status, every status present (zeros included), plus `total`."""
    found = dict(db.session.execute(select(Message.status, func.count()).where(Message.notice_id == notice_id)
                                    .group_by(Message.status)).all())
    result = {status: int(found.get(status, 0)) for status in STATUSES}
    result["total"] = sum(found.values())
    return result


def tick(now=None):
    """The periodic step (beat): start due scheduled notices (respecting quiet hours), re-ask for
    lost dispatches, resume interrupted ones, complete finished ones, and re-cancel stragglers
    (a retry may have put a cancelled notice's message back in the queue)."""
    now = now or utcnow()
    summary = {"started": [], "held": [], "completed": [], "recancelled": 0}
    for notice in db.session.scalars(select(Notice).where(Notice.status == SCHEDULED, Notice.send_after <= now)):
        held = None if notice.urgent else quiet_until(now)
        if held:
            notice.send_after = held
            summary["held"].append(notice.id)
            continue
        notice.status = APPROVED
        record("notice.due", notice, actor="system")
        summary["started"].append(notice.id)
    db.session.commit()
    stale = now - timedelta(seconds=conf("NOTICE_DISPATCH_STALE_SECONDS"))
    lost = db.session.scalars(select(Notice.id).where(Notice.status == APPROVED, Notice.updated_at < now - timedelta(
        seconds=30))).all()
    interrupted = db.session.scalars(select(Notice.id).where(Notice.status == SENDING, Notice.dispatched_at.is_(None),
                                                             Notice.sending_at < stale)).all()
    for notice_id in [*summary["started"], *lost, *interrupted]:
        request_dispatch(notice_id)
    for notice_id in db.session.scalars(select(Notice.id).where(Notice.status == SENDING,
                                                                Notice.dispatched_at.is_not(None))).all():
        if complete_if_done(notice_id):
            summary["completed"].append(notice_id)
    recent = now - timedelta(hours=1)
    for notice_id in db.session.scalars(select(Notice.id).where(Notice.status == CANCELLED,
                                                                Notice.cancelled_at > recent)).all():
        summary["recancelled"] += cancel_messages(notice_id)
    db.session.commit()
    return summary
