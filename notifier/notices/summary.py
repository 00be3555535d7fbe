"""Notices and their messages as plain dicts (the API and the pages' JSON), and the compose preview."""
from flask import current_app
from sqlalchemy import select

from notifier.accounts.models import User
from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices import rendering
from notifier.notices.audience import AudienceError, clean_spec, resolve
from notifier.notices.dispatch import counts
from notifier.notices.models import Notice
from notifier.notices.workflow import allocate_reply_code


def _iso(value):
    return value.isoformat() if value is not None else None


def _who(user_id, users):
    user = users.get(user_id)
    return None if user is None else {"id": user.id, "username": user.username, "display_name": str(user)}


def notice_to_dict(notice, with_counts=False, users=None):
    ids = {notice.created_by_id, notice.last_edited_by_id, notice.approved_by_id, notice.rejected_by_id,
           notice.cancelled_by_id} - {None}
    if users is None:
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    data = {
        "id": notice.id, "title": notice.title, "body": notice.body, "category": notice.category,
        "source": notice.source, "audience": notice.audience or {}, "reply": notice.reply_mode,
        "reply_code": notice.reply_code, "reply_deadline": _iso(notice.reply_deadline),
        "scheduled_at": _iso(notice.scheduled_at), "send_after": _iso(notice.send_after), "urgent": notice.urgent,
        "meeting_at": _iso(notice.meeting_at), "meeting_place": notice.meeting_place,
        "status": notice.status, "rejection_reason": notice.rejection_reason,
        "recipient_count": notice.recipient_count,
        "template": notice.template.code if notice.template_id and notice.template else None,
        "params": notice.template_params if notice.template_id else None,
        "created_by": _who(notice.created_by_id, users), "last_edited_by": _who(notice.last_edited_by_id, users),
        "approved_by": _who(notice.approved_by_id, users),
        "rejected_by": _who(notice.rejected_by_id, users), "cancelled_by": _who(notice.cancelled_by_id, users),
        **{key: _iso(getattr(notice, key)) for key in (
            "created_at", "updated_at", "submitted_at", "approved_at", "rejected_at", "sending_at", "dispatched_at",
            "completed_at", "cancelled_at")},
    }
    if with_counts:
        data["counts"] = counts(notice.id)
        from notifier.replies.service import (
            tally_counts,  # issue 5: confirmed, declined, other, none (+ more)
        )

        data["replies"] = tally_counts(notice.id)
    return data


def message_to_dict(message, mask=None):
    return {
        "id": message.id, "deputy_id": message.deputy_id, "name": message.deputy.name if message.deputy else None,
        "to": mask(message.to) if mask else message.to, "body": message.body, "segments": message.segments, "encoding": message.encoding,
        "status": message.status, "error_code": message.error_code, "error_message": message.error_message,
        "attempts": message.attempts, **{key: _iso(getattr(message, key)) for key in (
            "created_at", "queued_at", "sent_at", "delivered_at", "failed_at", "updated_at")},
    }


def messages_query(notice_id, status=None):
    query = select(Message).where(Message.notice_id == notice_id)
    if status:
        query = query.where(Message.status == status)
    return query.order_by(Message.id)


def preview(body, reply_mode="none", audience=None, reply_deadline=None, notice=None):
    """What the compose page shows while typing: the longest text's length, encoding and segments,
    the total for the audience, who gets it and who is skipped, and one deputy's text.
    Returns {"ok": bool, "errors": {field: [..]}, ...}; never raises for bad input."""
    errors = {}
    try:
        spec = clean_spec(audience or {})
        crowd = resolve(spec)
    except AudienceError as exc:
        errors["audience"] = exc.errors
        crowd = resolve({})
    try:
        uses = rendering.placeholders_in(body or "")
    except rendering.RenderError as exc:
        return {"ok": False, "errors": {"body": [str(exc)]}, **crowd.to_dict()}
    code = (notice.reply_code if notice is not None and notice.reply_code else None)
    if reply_mode != "none" and code is None:
        code = allocate_reply_code()  # the code it would get now (assigned for real on submit)
        db.session.rollback()  # release the allocation lock; nothing was written
    sendable = crowd.sendable()
    sample = sendable[0] if sendable else None
    if uses and sendable:
        texts = [rendering.measure(rendering.render_text(body, row, reply_mode, code, reply_deadline))
                 for row in sendable]
    else:
        texts = [rendering.measure(rendering.render_text(body or "", sample, reply_mode, code, reply_deadline))]
    longest = max(texts, key=lambda r: (r.segments, r.chars))
    total = sum(t.segments for t in texts) if uses else longest.segments * len(sendable)
    limit = rendering.max_segments()
    if longest.segments > limit:
        errors["body"] = [rendering.too_long(longest, limit)]
    example = rendering.render_text(body or "", sample, reply_mode, code, reply_deadline)
    return {"ok": not errors, "errors": errors, **crowd.to_dict(),
            "longest": {"chars": longest.chars, "encoding": longest.encoding, "segments": longest.segments},
            "total_segments": total, "max_segments": limit, "reply_code": code,
            "example": {"name": sample.name if sample else None, "text": example}}


def get_notice(notice_id):
    return db.session.get(Notice, notice_id) if 0 < notice_id < 2**31 else None


SAMPLES = 6  # recipients an approver can switch the example text to


def outgoing(notice, sample_id=None, now=None):
    """What approving the notice would send, for the approver to judge: the text as one real
    recipient gets it (`sample_id`, else the first; a few others to switch to), how many get it
    and who is skipped and why, the segments in all, the gateway that would carry it and when
    it would start (its schedule, held past quiet hours unless urgent)."""
    from notifier.gateways.health import get_registry, views
    from notifier.notices.audience import skip_reason
    from notifier.notices.schedule import quiet_until, send_after
    from notifier.timeutil import parse_quiet_hours, utcnow

    now = now or utcnow()
    crowd = resolve(notice.audience or {})
    sendable = crowd.sendable()
    sample = next((r for r in sendable if r.id == sample_id), sendable[0] if sendable else None)
    code = notice.reply_code
    personal = bool(rendering.placeholders_in(notice.body))
    texts = {}
    for row in (sendable if personal else sendable[:1]):
        texts[row.id] = rendering.measure(rendering.render_text(notice.body, row, notice.reply_mode, code,
                                                                notice.reply_deadline))
    example = texts.get(sample.id) if sample is not None and personal else next(iter(texts.values()), None)
    if example is None:
        example = rendering.measure(rendering.render_text(notice.body, None, notice.reply_mode, code,
                                                          notice.reply_deadline))
    total = sum(t.segments for t in texts.values()) if personal else example.segments * len(sendable)
    longest = max(texts.values(), key=lambda t: (t.segments, t.chars)) if texts else example

    # The gateway each number would go to now, by the configured routes and the gateways' health.
    gateways = {}
    try:
        registry, states = get_registry(), views()
        for row in sendable:
            name = registry.choose(row.phone, states)
            gateways[name] = gateways.get(name, 0) + 1
    except Exception:  # noqa: BLE001  (a gateway misconfiguration must not hide what would be sent)
        db.session.rollback()
        gateways = {}

    start = send_after(notice, now)
    held = None if notice.urgent else quiet_until(max(notice.scheduled_at or now, now))
    window = parse_quiet_hours(current_app.config.get("QUIET_HOURS"))
    return {
        "recipients": len(sendable),
        "skipped": [{"id": r.id, "name": r.name, "reason": skip_reason(r)} for r in crowd.rows
                    if skip_reason(r)],
        "sample": {"id": sample.id, "name": sample.name} if sample is not None else None,
        "others": [{"id": r.id, "name": r.name} for r in sendable[:SAMPLES]],
        "text": example.text, "chars": example.chars, "encoding": example.encoding,
        "segments": example.segments, "longest_segments": longest.segments, "total_segments": total,
        "personal": personal,
        "gateways": sorted(gateways.items(), key=lambda item: -item[1]),
        "scheduled_at": notice.scheduled_at, "starts_at": start, "held_by_quiet_hours": held is not None,
        "quiet_hours": f"{window[0]:%H:%M}-{window[1]:%H:%M}" if window else None,
        "urgent": notice.urgent,
    }
