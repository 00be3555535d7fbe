"""Remind the deputies who have not replied: a follow-up of the notice to exactly them
(notifier.notices.followups: it repeats approved text, so it goes on the composer's word unless
the office wants repeats approved again), by hand or automatically a set number of hours before
the deadline (the beat task)."""
import logging
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, select

from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices import followups, workflow
from notifier.notices.models import COMPLETED, REMINDER, SENDING, Notice
from notifier.replies.models import Reminder
from notifier.replies.service import non_responders
from notifier.replies.settings import get_setting
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
REMINDER_PREFIX = "提醒："  # SMS texts are Chinese whatever the page language


class ReminderError(workflow.WorkflowError):
    """Nothing to remind, or not now (str() is translated; the API answers 409)."""


def is_reminder(notice_id):
    return db.session.scalar(select(Reminder.id).where(Reminder.reminder_notice_id == notice_id)) is not None


def remind(notice, actor, automatic=False, now=None):
    """Create (and submit) a follow-up to the notice's non-responders; returns the new notice.
    ReminderError when the notice asks no reply, is not sent, its deadline passed or all replied;
    workflow.NotAllowed when the actor may not compose."""
    now = now or utcnow()
    if not actor.can("compose"):
        raise workflow.NotAllowed(_("Your role does not allow sending reminders."))
    if notice.reply_mode == "none":
        raise ReminderError(_("This notice does not ask for a reply."))
    if notice.status not in (SENDING, COMPLETED):
        raise ReminderError(_("Only a notice that has been sent can be followed up."))
    if notice.reply_deadline is not None and notice.reply_deadline <= now:
        raise ReminderError(_("The reply deadline has passed."))
    deputy_ids = non_responders(notice.id)
    if not deputy_ids:
        raise ReminderError(_("Everybody has replied; there is nobody to remind."))
    def note(follow):
        db.session.add(Reminder(notice_id=notice.id, reminder_notice_id=follow.id, automatic=automatic,
                                deputy_count=len(deputy_ids), created_by_id=actor.id))
        record("notice.remind", notice, actor=actor, reminder_id=follow.id, deputies=len(deputy_ids),
               automatic=automatic)

    data = {
        "title": f"{notice.title}（提醒）"[:200], "body": REMINDER_PREFIX + notice.body,
        "category": notice.category, "source": notice.source, "audience": {"deputy_ids": deputy_ids},
        "reply": notice.reply_mode, "reply_deadline": notice.reply_deadline, "urgent": notice.urgent,
    }
    if notice.template_id is not None and notice.template is not None:
        # A template-only gateway sends the approved text as it is: the reminder is the same
        # template (nothing can be put before it), to the same few deputies.
        data.update(template=notice.template.code, params=notice.template_params or {})
    return followups.create(notice, REMINDER, data, actor, on_created=note,
                            approved_without="reminders without approval" if get_setting("reminders_without_approval")
                            else None)


def due_for_auto_reminder(now=None):
    """Notices whose deadline is within `auto_remind_hours` and that have no automatic reminder."""
    hours = get_setting("auto_remind_hours")
    if not hours:
        return []
    now = now or utcnow()
    already = exists().where(Reminder.notice_id == Notice.id, Reminder.automatic.is_(True))
    reminder = exists().where(Reminder.reminder_notice_id == Notice.id)
    return db.session.scalars(select(Notice).where(
        Notice.reply_mode != "none", Notice.status.in_((SENDING, COMPLETED)), Notice.reply_deadline.is_not(None),
        Notice.reply_deadline > now, Notice.reply_deadline <= now + timedelta(hours=float(hours)),
        ~already, ~reminder).order_by(Notice.id)).all()


def auto_remind(now=None):
    """The beat step: remind for every due notice, as its author. Returns the new notices' ids."""
    created = []
    for notice in due_for_auto_reminder(now):
        author = notice.created_by
        try:
            if author is None or not author.active:
                raise ReminderError("the author cannot send it")
            created.append(remind(notice, author, automatic=True, now=now).id)
        except workflow.WorkflowError as exc:
            db.session.rollback()
            log.info("notice %s: no automatic reminder (%s)", notice.id, exc)  # tried again next tick
        except workflow.NoticeInvalid as exc:
            db.session.rollback()
            log.warning("notice %s: automatic reminder invalid: %s", notice.id, exc)
    return created
