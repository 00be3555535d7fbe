"""Which deputy sent a text and which notice it answers (independent of the gateway: only the
number, the notices sent to that number, and a code in the text are used).

A reply threads to:
0. the notice whose reply code the gateway saw it addressed to (CMPP: the extension of the number
   it was written to), preferring one sent to this deputy;
1. the notice whose reply code the text names ("#27"), preferring one sent to this deputy;
2. else the most recent notice sent to the deputy that asked for a reply and is still open
   (before its deadline, or within REPLY_OPEN_DAYS of sending when it has none);
3. else, within REPLY_LATE_DAYS after a deadline, the most recent such notice (the reply is late);
4. else none.
A follow-up's replies (a reminder's, a resend's) count for the notice it follows up.
"""
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select

from notifier.delivery.models import CANCELLED as MESSAGE_CANCELLED
from notifier.delivery.models import SKIPPED, Message
from notifier.extensions import db
from notifier.notices.models import CANCELLED, DRAFT, REJECTED, Notice
from notifier.replies.classify import find_code
from notifier.replies.config import conf
from notifier.replies.models import Reminder
from notifier.roster.models import Deputy
from notifier.roster.phones import PhoneError, normalise_phone
from notifier.timeutil import utcnow

NOT_SENT = (DRAFT, REJECTED, CANCELLED)


def match_deputy(number):
    """The deputy whose number this is, whatever its format ("+86 138...", "0086138...", "138..."),
    or None."""
    raw = (number or "").strip()
    if not raw:
        return None
    candidates = {raw}
    try:
        candidates.add(normalise_phone(raw))
    except PhoneError:
        pass
    return db.session.scalar(select(Deputy).where(Deputy.phone.in_(candidates)).limit(1))


def _sent_to(deputy_id):
    return exists().where(Message.notice_id == Notice.id, Message.deputy_id == deputy_id,
                          Message.status.not_in((SKIPPED, MESSAGE_CANCELLED)))


def original(notice):
    """The notice a follow-up (a reminder, a resend) belongs to; a follow-up of a follow-up leads
    to the first one."""
    seen = set()
    while notice is not None and notice.id not in seen:
        seen.add(notice.id)
        parent = notice.parent_id or db.session.scalar(
            select(Reminder.notice_id).where(Reminder.reminder_notice_id == notice.id))
        if parent is None:
            return notice
        notice = db.session.get(Notice, parent)
    return notice


def by_code(code, deputy):
    if not code:
        return None
    query = select(Notice).where(Notice.reply_code == code, Notice.reply_mode != "none",
                                 Notice.status.not_in(NOT_SENT))
    if deputy is not None:
        mine = db.session.scalar(query.where(_sent_to(deputy.id)).order_by(Notice.id.desc()).limit(1))
        if mine is not None:
            return mine
    return db.session.scalar(query.order_by(Notice.id.desc()).limit(1))


def latest_open(deputy, now):
    """(notice, late): the most recent open notice sent to the deputy, else the most recent one
    whose deadline passed less than REPLY_LATE_DAYS ago; (None, False) when there is none."""
    if deputy is None:
        return None, False
    base = (select(Notice).join(Message, and_(Message.notice_id == Notice.id, Message.deputy_id == deputy.id))
            .where(Notice.reply_mode != "none", Notice.status.not_in(NOT_SENT),
                   Message.status.not_in((SKIPPED, MESSAGE_CANCELLED)))
            .order_by(Message.id.desc()).limit(1))
    opened = now - timedelta(days=conf("REPLY_OPEN_DAYS"))
    open_now = or_(Notice.reply_deadline > now,
                   and_(Notice.reply_deadline.is_(None), Message.created_at > opened))
    notice = db.session.scalar(base.where(open_now))
    if notice is not None:
        return notice, False
    grace = now - timedelta(days=conf("REPLY_LATE_DAYS"))
    notice = db.session.scalar(base.where(Notice.reply_deadline.is_not(None), Notice.reply_deadline > grace))
    return notice, notice is not None


def thread(deputy, text, now=None, code=None):
    """(notice or None, code or None, late: bool). `code` is the one the gateway saw the reply
    addressed to (a CMPP extension: the deputy wrote to that notice's number); it wins over a
    code written in the text, which wins over the latest open notice."""
    now = now or utcnow()
    notice = by_code(code, deputy)
    if notice is None:
        code = find_code(text)
        notice = by_code(code, deputy)
    if notice is None:
        notice, _late = latest_open(deputy, now)
    notice = original(notice)
    late = bool(notice is not None and notice.reply_deadline is not None and now > notice.reply_deadline)
    return notice, code, late
