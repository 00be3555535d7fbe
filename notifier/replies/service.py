"""Replies: store an inbound text once, act on it (opt-out, opt-in, help), tally a notice's
replies with the names behind each number, and the staff's marks and one-off answers.

    row, created = receive(request.form)      # the webhook
    tally(notice_id)                           # {"confirmed": n, ..., "names": {...}}
"""
import dataclasses
import logging
import unicodedata

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifier.audit.service import record
from notifier.delivery import inbox, outbox
from notifier.delivery.models import CANCELLED as MESSAGE_CANCELLED
from notifier.delivery.models import SKIPPED, Message
from notifier.extensions import db
from notifier.replies.classify import read_reply
from notifier.replies.config import conf
from notifier.replies.models import (
    ACK,
    ANSWERS,
    CONFIRM,
    DECLINE,
    HELP,
    OPT_IN,
    OPT_OUT,
    RATING,
    SIGN_IN,
    SUGGESTION,
    InboundMessage,
)
from notifier.replies.threading import match_deputy, thread
from notifier.roster.models import Deputy
from notifier.roster.phones import PhoneError, normalise_phone
from notifier.roster.service import set_opted_out
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_BODY = 1600  # Twilio's longest text; anything longer is cut, not refused
TALLY_KEYS = ("confirmed", "declined", "received", "other", "opted_out", "none")
# "收到" alone says the text arrived, not that the deputy will come: received, not confirmed.
_TALLY_OF = {CONFIRM: "confirmed", DECLINE: "declined", ACK: "received", "text": "other"}
INBOUND_TEXT = "twilio.inbound"
DUTY_KINDS = (SIGN_IN, SUGGESTION, RATING)  # the kind of webhook request kept by inbox.accept


class InboundInvalid(ValueError):
    """A webhook request without a gateway message id."""


def _clean(value, limit):
    """Printable text that PostgreSQL will store (no NUL, no lone surrogates), at most `limit`."""
    text = str(value or "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return text[:limit]


# --- inbound -------------------------------------------------------------------------------------

def gateway_id_of(fields):
    """The gateway's id of an inbound text (Twilio's MessageSid); InboundInvalid when missing."""
    gateway_id = _clean(fields.get("MessageSid") or fields.get("SmsSid") or "", 64).strip()
    if not gateway_id:
        raise InboundInvalid("MessageSid is missing")
    return gateway_id


def receive(fields, now=None, code=None):
    """Store one inbound text (Twilio's webhook form) and act on it, as received at `now`.
    Returns (row, created): a replayed gateway id returns the stored row and changes nothing.
    `code` is the reply code the gateway saw the text sent to (a CMPP extension), which threads
    it before anything else."""
    gateway_id = gateway_id_of(fields)
    existing = db.session.scalar(select(InboundMessage).where(InboundMessage.gateway_id == gateway_id))
    if existing is not None:
        return existing, False
    now = now or utcnow()
    body = _clean(fields.get("Body"), MAX_BODY)
    from_number = _clean(fields.get("From"), 32).strip()
    deputy = match_deputy(from_number)
    notice, code, late = thread(deputy, body, now, code=code)
    reading = None
    if deputy is not None:
        from notifier.duty.inbound import rating_reading  # see DUTY_KINDS below

        reading = rating_reading(deputy, body, notice, code)  # "1" to "your suggestion was answered"
    if reading is not None:
        notice, late = None, False
    else:
        # Read in the light of the notice it answers: "取消" to an invitation is "I won't come".
        reading = read_reply(body, expects=notice.reply_mode if notice else None)
    kind = reading.kind
    row = InboundMessage(gateway_id=gateway_id, from_number=from_number, to_number=_clean(fields.get("To"), 32),
                         body=body, received_at=now, deputy_id=deputy.id if deputy else None,
                         notice_id=notice.id if notice else None, kind=kind, code=code, late=late,
                         reason=reading.reason, reason_word=(reading.word or "")[:40] or None)
    db.session.add(row)
    if deputy is not None and kind in (OPT_OUT, OPT_IN):
        # The roster service records when and how, and audits it.
        set_opted_out(deputy, kind == OPT_OUT, f"sms:{body.strip()[:40]}", actor="sms", commit=False)
    answer = [m.id for m in help_answer(deputy, from_number)] if kind == HELP else []
    if kind in DUTY_KINDS:
        # Duty work builds on replies: imported here, so replies never needs it at import time.
        from notifier.duty.inbound import act

        db.session.flush()  # the row's id, for what the duty work records
        answer += act(row, deputy, notice, now)
    try:
        db.session.commit()  # the text, its effects and its answer at once: a replay repeats none of them
    except IntegrityError:  # the same gateway id stored by a concurrent request
        db.session.rollback()
        return db.session.scalar(select(InboundMessage).where(InboundMessage.gateway_id == gateway_id)), False
    outbox.send_queued(answer)
    return row, True


@inbox.handler(INBOUND_TEXT)
def _kept_inbound(entry):
    return receive(entry["form"], now=inbox.received_at(entry))


def help_answer(deputy, from_number):
    """The REPLY_HELP_TEXT answer to a help request, in the outbox, uncommitted: [Message] or []."""
    text = conf("REPLY_HELP_TEXT").strip()
    if not text:
        return []
    try:
        to = deputy.phone if deputy is not None else normalise_phone(from_number)
    except PhoneError:
        log.info("help request from %s: not a number we can text", from_number)
        return []
    body = current_app.config.get("SMS_SIGNATURE", "") + text
    return outbox.create_messages([outbox.Recipient(to=to, deputy_id=deputy.id if deputy else None)], body,
                                  commit=False, queue=True)


def acknowledgement():
    """The text answered in the webhook's TwiML ('' : none)."""
    return conf("REPLY_ACK_TEXT").strip()


# --- tallies -------------------------------------------------------------------------------------

def recipients(notice_id):
    """{deputy_id: name} of the deputies the notice was sent to (not skipped, not cancelled)."""
    rows = db.session.execute(
        select(Deputy.id, Deputy.name).join(Message, Message.deputy_id == Deputy.id)
        .where(Message.notice_id == notice_id, Message.status.not_in((SKIPPED, MESSAGE_CANCELLED)))
        .order_by(Deputy.name, Deputy.id)).all()
    return {r.id: r.name for r in rows}


def answers(notice_id):
    """{deputy_id: the InboundMessage that counts}: the latest answer (confirm, decline, text), else
    the latest opt-out."""
    rows = db.session.scalars(
        select(InboundMessage).where(InboundMessage.notice_id == notice_id, InboundMessage.deputy_id.is_not(None),
                                     InboundMessage.kind.in_((*ANSWERS, OPT_OUT)))
        .order_by(InboundMessage.received_at, InboundMessage.id)).all()
    latest = {}
    for row in rows:
        held = latest.get(row.deputy_id)
        if held is None or row.kind in ANSWERS or held.kind not in ANSWERS:
            latest[row.deputy_id] = row
    return latest


def tally(notice_id):
    """Replies to a notice: counts of confirmed, declined, other, opted_out and none (no reply yet;
    every recipient is in exactly one), `late`, `recipients`, and `names` per key:
    [{"deputy_id", "name", "body", "received_at", "late", "inbound_id"}]."""
    sent = recipients(notice_id)
    found = answers(notice_id)
    names = {key: [] for key in TALLY_KEYS}
    people = dict(sent)
    missing = [d for d in found if d not in people]
    if missing:
        people.update(dict(db.session.execute(select(Deputy.id, Deputy.name).where(Deputy.id.in_(missing))).all()))
    for deputy_id, name in sorted(people.items(), key=lambda item: (item[1], item[0])):
        row = found.get(deputy_id)
        if row is None:
            names["none"].append({"deputy_id": deputy_id, "name": name})
            continue
        key = "opted_out" if row.kind == OPT_OUT else _TALLY_OF[row.kind]
        names[key].append({"deputy_id": deputy_id, "name": name, "body": row.body, "late": row.late,
                           "received_at": row.received_at.isoformat(), "inbound_id": row.id})
    result = {key: len(names[key]) for key in TALLY_KEYS}
    result["late"] = sum(1 for key in TALLY_KEYS for item in names[key] if item.get("late"))
    result["recipients"] = len(people)
    result["names"] = names
    return result


API_KEYS = ("confirmed", "declined", "received", "other", "none")


def tally_counts(notice_id):
    """The notice API's `replies`: the contract's four counts and `received` (only acknowledged);
    opted-out deputies are in none of them."""
    result = tally(notice_id)
    return {key: result[key] for key in API_KEYS}


def non_responders(notice_id):
    """Ids of the deputies sent the notice who have not answered and can still be texted (not
    those whose number the carrier says does not exist)."""
    sent = set(recipients(notice_id))
    answered = set(answers(notice_id))
    if not sent - answered:
        return []
    textable = set(db.session.scalars(select(Deputy.id).where(
        Deputy.id.in_(sorted(sent - answered)), Deputy.active.is_(True), Deputy.opted_out.is_(False))))
    # A number the carrier says does not exist gets no reminder: it could not get one either.
    from notifier.reports.errors import NO_SUCH_NUMBER

    dead = set(db.session.scalars(select(Message.deputy_id).where(
        Message.notice_id == notice_id, Message.error_code.in_(sorted(NO_SUCH_NUMBER)))))
    return sorted(textable - dead)


# --- staff marks ---------------------------------------------------------------------------------

MARKS = ("read", "unread", "handled", "unhandled")


def mark(inbound_ids, what, actor):
    """Mark inbound texts read/unread/handled/unhandled; returns how many changed. Handled implies read."""
    if what not in MARKS:
        raise ValueError(what)
    rows = db.session.scalars(select(InboundMessage).where(InboundMessage.id.in_(list(inbound_ids)))).all()
    now, changed = utcnow(), 0
    for row in rows:
        before = (row.read_at, row.handled_at)
        if what in ("read", "handled") and row.read_at is None:
            row.read_at, row.read_by_id = now, actor.id
        if what == "handled" and row.handled_at is None:
            row.handled_at, row.handled_by_id = now, actor.id
        if what == "unread":
            row.read_at = row.read_by_id = row.handled_at = row.handled_by_id = None
        if what == "unhandled":
            row.handled_at = row.handled_by_id = None
        if (row.read_at, row.handled_at) != before:
            changed += 1
    if changed:
        record(f"reply.mark_{what}", actor=actor, ids=[r.id for r in rows][:100], count=changed)
    db.session.commit()
    return changed


# --- conversation --------------------------------------------------------------------------------

@dataclasses.dataclass
class Entry:
    at: object
    direction: str  # "out" (sent to the deputy) or "in" (from the deputy)
    body: str
    status: str = None  # outbound: the message status
    notice_id: int = None
    kind: str = None  # inbound: the reply kind
    late: bool = False
    id: int = None


def conversation(deputy_id, limit=500):
    """Every text sent to and received from a deputy, oldest first (the last `limit` of them)."""
    sent = db.session.scalars(select(Message).where(Message.deputy_id == deputy_id)
                              .order_by(Message.id.desc()).limit(limit)).all()
    got = db.session.scalars(select(InboundMessage).where(InboundMessage.deputy_id == deputy_id)
                             .order_by(InboundMessage.id.desc()).limit(limit)).all()
    entries = [Entry(at=m.sent_at or m.created_at, direction="out", body=m.body, status=m.status,
                     notice_id=m.notice_id, id=m.id) for m in sent]
    entries += [Entry(at=r.received_at, direction="in", body=r.body, notice_id=r.notice_id, kind=r.kind,
                      late=r.late, id=r.id) for r in got]
    entries.sort(key=lambda e: (e.at, 0 if e.direction == "out" else 1, e.id))
    return entries[-limit:]


def unread_count():
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.read_at.is_(None))) or 0


__all__ = ["receive", "tally", "tally_counts", "non_responders", "mark", "conversation", "acknowledgement",
           "InboundInvalid"]
