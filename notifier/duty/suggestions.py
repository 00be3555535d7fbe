"""Deputies' suggestions (代表建议): received (by text, on paper, through the API) -> assigned to an
organ with a due date (three months by default) -> answered; the deputy is texted the number when
it is received and told when it is answered, and rates the answer 1/2/3 (满意/基本满意/不满意).
Every step is audited; texts go through the outbox (the caller queues the returned ids after its
commit, or the sweeper does)."""
import calendar
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from notifier.audit.service import record
from notifier.delivery import outbox
from notifier.delivery.models import Message
from notifier.duty.models import (
    ANSWERED,
    ASSIGNED,
    BASICALLY_SATISFIED,
    DISSATISFIED,
    RECEIVED,
    SATISFIED,
    SUGGESTION_STATUSES,
    Suggestion,
)
from notifier.extensions import db
from notifier.notices.models import SOURCE_LABELS
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

MAX_TEXT = 2000
MAX_ORGAN = 100
DUE_MONTHS = 3
# What a deputy texts to rate an answer; the digits are what the answered text asks for.
RATINGS = {"1": SATISFIED, "2": BASICALLY_SATISFIED, "3": DISSATISFIED,
           "满意": SATISFIED, "基本满意": BASICALLY_SATISFIED, "不满意": DISSATISFIED}
RECEIVED_TEXT = "您的建议已登记，编号{number}，我们将交有关单位办理，办理结果将短信告知。"
ANSWERED_TEXT = "您的建议{number}已由{organ}答复：{answer}。请回复1满意，2基本满意，3不满意。"
ANSWER_EXCERPT = 60


class SuggestionInvalid(ValueError):
    """.errors = {field: [messages]} (translated)."""

    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


class SuggestionConflict(ValueError):
    """A step the suggestion's status does not allow (the API answers 409); str() translated."""


class NotAllowed(PermissionError):
    pass


def organ_choices():
    """Organs offered when assigning (free text is allowed): the notice sources' bodies, then the
    organs already used, most used first."""
    used = db.session.execute(select(Suggestion.organ, func.count()).where(Suggestion.organ.is_not(None))
                              .group_by(Suggestion.organ).order_by(func.count().desc())).all()
    standard = [str(SOURCE_LABELS[key]) for key in ("government", "court", "procuratorate", "county_committee",
                                                    "congress")]
    return list(dict.fromkeys(standard + [organ for organ, _n in used]))


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_today(now=None):
    return (now or utcnow()).astimezone(_zone()).date()


def add_months(day, months):
    """The same day `months` later (the month's last day when it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_due_date(now=None):
    return add_months(local_today(now), DUE_MONTHS)


def _check_actor(actor):
    if not isinstance(actor, str) and not actor.can("compose"):
        raise NotAllowed(_("Your role does not allow handling suggestions."))


def _text(value, field, limit, required=True):
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", str(value or "")).strip()
    if required and not text:
        return None, {field: [_("This field is required.")]}
    if len(text) > limit:
        return None, {field: [_("At most %(n)s characters.", n=limit)]}
    return text, {}


def _next_number(year):
    seq = (db.session.scalar(select(func.max(Suggestion.seq)).where(Suggestion.year == year)) or 0) + 1
    return seq, f"{year}-{seq:03d}"


def create(deputy, text, actor, source="sms", inbound_id=None, now=None):
    """A new numbered suggestion (uncommitted) and its confirmation text queued in the outbox:
    (Suggestion, [message ids to send after the commit])."""
    _check_actor(actor)
    errors = {}
    if not isinstance(deputy, Deputy):
        errors["deputy_id"] = [_("No such deputy.")]
    text, problem = _text(text, "text", MAX_TEXT)
    errors.update(problem)
    if errors:
        raise SuggestionInvalid(errors)
    now = now or utcnow()
    year = now.astimezone(_zone()).year
    for _attempt in range(5):
        seq, number = _next_number(year)
        try:
            with db.session.begin_nested():  # two suggestions at once: the second takes the next number
                suggestion = Suggestion(number=number, year=year, seq=seq, deputy_id=deputy.id, text=text,
                                        source=source, inbound_id=inbound_id, status=RECEIVED, created_at=now,
                                        created_by_id=None if isinstance(actor, str) else actor.id)
                db.session.add(suggestion)
        except IntegrityError:
            continue
        break
    else:
        raise SuggestionConflict(_("Could not number the suggestion; try again."))
    record("suggestion.create", suggestion, actor=actor, number=number, deputy_id=deputy.id, source=source)
    return suggestion, _text_deputy(deputy, RECEIVED_TEXT.format(number=number))


def _text_deputy(deputy, text):
    if deputy.opted_out or not deputy.active:
        return []  # they asked not to be texted: the suggestion is still recorded
    body = current_app.config.get("SMS_SIGNATURE", "") + text
    return [m.id for m in outbox.create_messages([deputy], body, commit=False, queue=True)]


def create_for_deputy(deputy_id, text, actor, source="paper"):
    """Staff enter a suggestion a deputy handed in on paper (or through the API). Commits; returns it."""
    deputy = db.session.get(Deputy, deputy_id) if isinstance(deputy_id, int) and 0 < deputy_id < 2**31 else None
    suggestion, messages = create(deputy, text, actor, source=source)
    db.session.commit()
    outbox.send_queued(messages)
    return suggestion


def assign(suggestion, organ, due_date, actor, now=None):
    """Assign to an organ with a due date (None: three months from today). Commits."""
    _check_actor(actor)
    if suggestion.status == ANSWERED:
        raise SuggestionConflict(_("This suggestion has been answered already."))
    organ, errors = _text(organ, "organ", MAX_ORGAN)
    today = local_today(now)
    if due_date is None:
        due_date = default_due_date(now)
    elif isinstance(due_date, datetime) or not isinstance(due_date, date):
        errors["due_date"] = [_("Give a date such as 2026-03-31.")]
    elif due_date < today:
        errors["due_date"] = [_("The due date has passed.")]
    if errors:
        raise SuggestionInvalid(errors)
    before = (suggestion.organ, suggestion.due_date)
    suggestion.organ, suggestion.due_date = organ, due_date
    suggestion.status, suggestion.assigned_at = ASSIGNED, now or utcnow()
    suggestion.assigned_by_id = None if isinstance(actor, str) else actor.id
    record("suggestion.assign", suggestion, actor=actor, number=suggestion.number, organ=organ,
           due_date=due_date.isoformat(), previous={"organ": before[0],
                                                    "due_date": before[1].isoformat() if before[1] else None})
    db.session.commit()
    return suggestion


def answer(suggestion, text, actor, now=None):
    """Record the organ's answer and text the deputy to rate it. Commits and queues the text."""
    _check_actor(actor)
    if suggestion.status != ASSIGNED:
        raise SuggestionConflict(_("Only an assigned suggestion can be answered; assign it to an organ first.")
                                 if suggestion.status == RECEIVED else _("This suggestion has been answered already."))
    text, errors = _text(text, "text", MAX_TEXT)
    if errors:
        raise SuggestionInvalid(errors)
    suggestion.answer, suggestion.status = text, ANSWERED
    suggestion.answered_at = now or utcnow()
    suggestion.answered_by_id = None if isinstance(actor, str) else actor.id
    excerpt = text if len(text) <= ANSWER_EXCERPT else text[:ANSWER_EXCERPT] + "……"
    messages = _text_deputy(suggestion.deputy, ANSWERED_TEXT.format(
        number=suggestion.number, organ=suggestion.organ, answer=excerpt.rstrip("。.")))
    suggestion.answer_message_id = messages[0] if messages else None
    record("suggestion.answer", suggestion, actor=actor, number=suggestion.number, message_id=suggestion.answer_message_id)
    db.session.commit()
    outbox.send_queued(messages)
    return suggestion


def update(suggestion, data, actor):
    """PATCH: the text (before it is assigned), the organ and due date (before it is answered), and
    `status` back to received or assigned is refused. Commits."""
    _check_actor(actor)
    errors, changes = {}, {}
    if "status" in data and data["status"] != suggestion.status:
        if data["status"] not in SUGGESTION_STATUSES:
            errors["status"] = [_("Choose one of: %(choices)s.", choices=", ".join(SUGGESTION_STATUSES))]
        else:
            errors["status"] = [_("The status changes by assigning and answering, not directly.")]
    if "text" in data:
        text, problem = _text(data["text"], "text", MAX_TEXT)
        errors.update(problem)
        if not problem and text != suggestion.text:
            if suggestion.status != RECEIVED:
                errors["text"] = [_("The text can only be corrected before the suggestion is assigned.")]
            changes["text"] = text
    if errors:
        raise SuggestionInvalid(errors)
    if "organ" in data or "due_date" in data:
        assign(suggestion, data.get("organ", suggestion.organ), data.get("due_date", suggestion.due_date), actor)
    for key, value in changes.items():
        setattr(suggestion, key, value)
    if changes:
        record("suggestion.update", suggestion, actor=actor, number=suggestion.number, fields=sorted(changes))
    db.session.commit()
    return suggestion


def awaiting_rating(deputy):
    """The deputy's answered suggestion whose 'answered' text went out most recently and is not yet
    rated, with that text's time: (Suggestion, sent time) or (None, None)."""
    row = db.session.execute(
        select(Suggestion, Message.created_at).join(Message, Message.id == Suggestion.answer_message_id)
        .where(Suggestion.deputy_id == deputy.id, Suggestion.status == ANSWERED, Suggestion.satisfaction.is_(None))
        .order_by(Message.created_at.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def rate(suggestion, satisfaction, actor="sms", now=None):
    """The deputy's rating (uncommitted). A later rating replaces an earlier one."""
    suggestion.satisfaction, suggestion.rated_at = satisfaction, now or utcnow()
    record("suggestion.rate", suggestion, actor=actor, number=suggestion.number, satisfaction=satisfaction)


def is_overdue(suggestion, today=None):
    return (suggestion.status == ASSIGNED and suggestion.due_date is not None
            and suggestion.due_date < (today or local_today()))


def suggestion_query(status=None, deputy_id=None, overdue=False, today=None):
    query = select(Suggestion)
    if status:
        query = query.where(Suggestion.status == status)
    if deputy_id:
        query = query.where(Suggestion.deputy_id == deputy_id)
    if overdue:
        query = query.where(Suggestion.status == ASSIGNED, Suggestion.due_date < (today or local_today()))
    return query


def get(suggestion_id):
    return db.session.get(Suggestion, suggestion_id) if 0 < suggestion_id < 2**31 else None


def to_dict(s):
    def iso(value):
        return value.isoformat() if value is not None else None

    return {"id": s.id, "number": s.number, "deputy_id": s.deputy_id, "deputy_name": s.deputy.name if s.deputy else None,
            "text": s.text, "source": s.source, "status": s.status, "organ": s.organ, "due_date": iso(s.due_date),
            "overdue": is_overdue(s), "answer": s.answer, "satisfaction": s.satisfaction,
            "created_at": iso(s.created_at), "assigned_at": iso(s.assigned_at), "answered_at": iso(s.answered_at),
            "rated_at": iso(s.rated_at)}
