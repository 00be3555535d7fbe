"""Follow-ups of a notice: a reminder to those who have not replied, a resend of texts that
failed, a one-off reply to a deputy. Each is a notice of its own for delivery (its rows go through
the outbox and the workers like any text, exactly once), but it belongs to the notice it follows
up: that notice's page lists it and its replies are counted there, in one tally.

Whether it needs a second approval depends on what it says: a reminder or a resend repeats text
an approver has already passed, so it goes on the composer's word (unless the setting
`repeat_needs_approval` is on); a reply is new text and is approved like any notice.
"""
from sqlalchemy import select

from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import FOLLOW_UPS, PENDING_APPROVAL, REPLY, Notice
from notifier.notices.settings import get_setting


def repeats_approved_text(kind):
    return kind != REPLY


def needs_second_approval(kind):
    return not repeats_approved_text(kind) or bool(get_setting("repeat_needs_approval"))


def create(parent, kind, data, actor, approved_without=None, on_created=None):
    """Create and submit the follow-up of `parent` (None: a reply about no notice in particular).
    `data` as for workflow.create_notice. Returns the new notice: pending approval, or on its way
    when it repeats approved text (or `approved_without`, a reason, says it may go anyway).
    `on_created(notice)` adds what else belongs with it, in the same commit."""
    if kind not in FOLLOW_UPS:
        raise ValueError(kind)
    notice = workflow.create_notice(data, actor)
    notice.parent_id = getattr(parent, "id", None)
    notice.follow_up = kind
    if on_created is not None:
        on_created(notice)
    db.session.commit()
    workflow.submit(notice, actor)
    if notice.status == PENDING_APPROVAL:
        reason = approved_without or (None if needs_second_approval(kind) else "follow-up repeats approved text")
        if reason:
            record("notice.approve", notice, actor="system", reason=reason)
            workflow._start(notice, approver=None)  # the same step submit takes when approval is off
    return notice


def root(notice):
    """The notice a chain of follow-ups started from (a reminder of a resend leads to the first)."""
    seen = set()
    while notice is not None and notice.parent_id is not None and notice.id not in seen:
        seen.add(notice.id)
        parent = db.session.get(Notice, notice.parent_id)
        if parent is None:
            break
        notice = parent
    return notice


def of(notice_id, kind=None):
    """The follow-ups of a notice, oldest first."""
    query = select(Notice).where(Notice.parent_id == notice_id)
    if kind:
        query = query.where(Notice.follow_up == kind)
    return db.session.scalars(query.order_by(Notice.id)).all()


def waiting_replies(deputy_id):
    """One-off replies to this deputy still waiting for approval (the conversation shows them)."""
    rows = db.session.scalars(select(Notice).where(Notice.follow_up == REPLY, Notice.status == PENDING_APPROVAL)
                              .order_by(Notice.id)).all()
    return [n for n in rows if (n.audience or {}).get("deputy_ids") == [deputy_id]]
