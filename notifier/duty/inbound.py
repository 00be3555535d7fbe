"""What a deputy's text does for duty work, once replies.receive has read it: 签到 signs them in
to the day's meeting; a suggestion (建议 ...) is numbered and confirmed by text; 1/2/3 after an
answered suggestion rates the answer. Called inside receive's transaction; returns the ids of
the texts to queue after its commit (the outbox sends them exactly once)."""
from sqlalchemy import func, select

from notifier.delivery.models import Message
from notifier.duty import meetings, suggestions
from notifier.extensions import db
from notifier.replies.classify import CODE, Reading, normalise, suggestion_text
from notifier.replies.models import RATING, SIGN_IN, SUGGESTION, TEXT

# Only a bare 1 or 2 can also answer a notice; these can only be a rating.
_ONLY_RATINGS = {"3", "满意", "基本满意", "不满意"}


def _compact(body):
    return normalise(CODE.sub(" ", body or "")).replace(" ", "")


def rating_reading(deputy, body, notice, code):
    """Reading(rating) when the text rates the answer to the deputy's suggestion, else None. A bare
    1 or 2 rates it unless the deputy wrote to a notice's code, or that notice reached them after
    the 'answered' text (the text answers whichever they were last asked)."""
    compact = _compact(body)
    if compact not in suggestions.RATINGS:
        return None
    suggestion, answered_sent = suggestions.awaiting_rating(deputy)
    if suggestion is None:
        return None
    if compact not in _ONLY_RATINGS and notice is not None:
        if code is not None and notice.reply_code == code:
            return None
        invited = db.session.scalar(select(func.max(Message.created_at)).where(
            Message.notice_id == notice.id, Message.deputy_id == deputy.id))
        if invited is not None and invited > answered_sent:
            return None
    return Reading(RATING, "rating", suggestion.number)


def act(row, deputy, notice, now):
    """Act on the stored inbound `row` (flushed, uncommitted); may re-thread it or change how it
    was read (row.kind, row.reason). Returns [message ids] to queue."""
    if row.kind == SIGN_IN:
        meeting = meetings.sign_in_by_text(deputy, row, now, notice) if deputy is not None else None
        if meeting is None:
            row.kind, row.reason = TEXT, "sign_in_no_meeting"
        else:
            row.notice_id = meeting.id
        return []
    if row.kind == SUGGESTION:
        row.notice_id, row.late = None, False  # a suggestion answers no notice
        if deputy is None:
            row.reason = "suggestion_unknown"
        if deputy is None or row.reason != "suggestion":
            return []
        suggestion, messages = suggestions.create(deputy, suggestion_text(row.body), "sms", source="sms",
                                                  inbound_id=row.id, now=now)
        row.reason_word = suggestion.number  # the inbox names the suggestion it became
        return messages
    if row.kind == RATING:
        suggestion = db.session.scalar(select(suggestions.Suggestion).where(
            suggestions.Suggestion.number == row.reason_word))
        if suggestion is not None:
            suggestions.rate(suggestion, suggestions.RATINGS[_compact(row.body)], now=now)
        return []
    return []
