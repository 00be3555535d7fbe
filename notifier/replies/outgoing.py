"""One-off texts from staff to a deputy (the conversation page). A reply is new text, so approval
applies like a notice, unless the admin setting `direct_replies_without_approval` is on: then the
text goes straight to the outbox. Through approval it is a follow-up of the notice the deputy last
answered (notifier.notices.followups), so it is found on that notice's page."""
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from notifier.audit.service import record
from notifier.delivery import outbox
from notifier.extensions import db
from notifier.notices import followups, rendering, workflow
from notifier.notices.models import REPLY, Notice
from notifier.replies.models import InboundMessage
from notifier.replies.settings import get_setting

MAX_TEXT = 500


def send_to_deputy(deputy, text, actor):
    """Returns ("sent", Message) when texted at once, or ("notice", Notice) when it went through
    the workflow (pending approval, or approved at once when approval is off).
    workflow.NotAllowed / workflow.NoticeInvalid for a role or text that will not do."""
    if not actor.can("compose"):
        raise workflow.NotAllowed(_("Your role does not allow sending texts."))
    text = (text or "").strip()
    if not text:
        raise workflow.NoticeInvalid({"body": [_("The text is required.")]})
    if len(text) > MAX_TEXT:
        raise workflow.NoticeInvalid({"body": [_("At most %(n)s characters.", n=MAX_TEXT)]})
    if deputy.opted_out or not deputy.active:
        raise workflow.NoticeInvalid({"body": [_("This deputy has opted out or is inactive and cannot be texted.")]})
    if get_setting("direct_replies_without_approval"):
        body = current_app.config.get("SMS_SIGNATURE", "") + text
        try:
            rendering.check_length(rendering.measure(body))
        except rendering.RenderError as exc:
            raise workflow.NoticeInvalid({"body": [str(exc)]}) from None
        message = outbox.create_messages([deputy], body, commit=False, queue=True)[0]
        record("reply.send", deputy, actor=actor, message_id=message.id)
        message_id = message.id
        db.session.commit()  # the row is `queued` from here on: the sweeper finds it if we stop now
        outbox.send_queued([message_id])
        return "sent", message
    notice = followups.create(answered_notice(deputy), REPLY, {
        "title": _("Reply to %(name)s", name=deputy.name)[:200], "body": text.replace("{", "{{").replace("}", "}}"),
        "category": "other", "source": "congress", "audience": {"deputy_ids": [deputy.id]}, "reply": "none",
    }, actor)
    return "notice", notice


def answered_notice(deputy):
    """The notice the deputy's latest threaded text answers (the first of its chain), or None."""
    notice_id = db.session.scalar(select(InboundMessage.notice_id).where(
        InboundMessage.deputy_id == deputy.id, InboundMessage.notice_id.is_not(None))
        .order_by(InboundMessage.id.desc()).limit(1))
    return followups.root(db.session.get(Notice, notice_id)) if notice_id else None
