"""The message log: every outbound text, searchable, newest first, paged by keyset on id.

Each filter is an equality (or a semi-join to a small table) that an index "(column, id)" serves,
so the first page and any deep page read ~limit index entries however many rows there are
(tests/reports/test_query_plans.py checks the plans on PostgreSQL).
"""
import dataclasses
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from notifier.delivery.models import STATUS_LABELS, STATUSES, GatewayExchange, Message, MessageEvent
from notifier.extensions import db
from notifier.notices.models import Notice
from notifier.reports import errors as error_table
from notifier.reports import replies
from notifier.reports.masking import mask_in
from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS, Deputy, deputy_levels
from notifier.sql import id_in

MAX_ID = 2**31 - 1
MAX_Q_DEPUTIES = 1000
FILTERS = ("q", "notice_id", "status", "error_code", "level", "since", "until")


@dataclasses.dataclass
class LogFilter:
    q: str = None
    notice_id: int = None
    status: str = None
    error_code: str = None
    level: str = None
    since: datetime = None  # aware, inclusive
    until: datetime = None  # aware, exclusive

    def as_args(self):
        """The filter as query-string values (for "next page" and export links)."""
        out = {}
        for key in FILTERS:
            value = getattr(self, key)
            if value is None or value == "":
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def parse_when(text, end=False):
    """A date (a local calendar day: its start, or the next day's start when `end`) or an ISO
    datetime (naive means local). ValueError when neither."""
    text = (text or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta())
        return datetime.combine(day, time.min, tzinfo=_zone())
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=_zone())


def parse_filters(args):
    """LogFilter from query-string values; (filter, {field: [message]}) with every bad field named."""
    f, problems = LogFilter(), {}
    q = (args.get("q") or "").strip()
    if len(q) > 64:
        problems["q"] = [_("At most %(n)s characters.", n=64)]
    elif q:
        f.q = q
    raw = (args.get("notice_id") or "").strip() if isinstance(args.get("notice_id"), str) else args.get("notice_id")
    if raw not in (None, ""):
        try:
            f.notice_id = int(raw)
            if not 0 < f.notice_id <= MAX_ID:
                raise ValueError(raw)
        except (TypeError, ValueError):
            problems["notice_id"] = [_("Give a notice number.")]
    status = (args.get("status") or "").strip()
    if status:
        if status in STATUSES:
            f.status = status
        else:
            problems["status"] = [_("Choose one of: %(choices)s.", choices=", ".join(STATUSES))]
    code = (args.get("error_code") or "").strip()
    if code:
        if re.fullmatch(r"[\w.-]{1,16}", code):
            f.error_code = code
        else:
            problems["error_code"] = [_("Give an error code such as 30003.")]
    level = (args.get("level") or "").strip()
    if level:
        if level in LEVEL_CODES:
            f.level = level
        else:
            problems["level"] = [_("Choose one of: %(choices)s.", choices=", ".join(LEVEL_CODES))]
    for key, end in (("since", False), ("until", True)):
        text = args.get(key)
        if isinstance(text, datetime):
            setattr(f, key, text if text.tzinfo else text.replace(tzinfo=_zone()))
        elif text and str(text).strip():
            try:
                setattr(f, key, parse_when(str(text), end=end))
            except ValueError:
                problems[key] = [_("Give a date (2026-01-31) or a date and time.")]
    if f.since and f.until and f.since >= f.until:
        problems.setdefault("until", []).append(_("The end must be after the start."))
    return f, problems


def _digits(q):
    return re.sub(r"[\s+()-]", "", q)


def deputy_condition(q):
    """Deputies whose name contains q, or whose number contains q's digits."""
    conditions = [Deputy.name.ilike(f"%{_escape_like(q)}%", escape="\\")]
    digits = _digits(q)
    if digits.isdigit() and len(digits) >= 3:
        conditions.append(Deputy.phone.like(f"%{digits}%"))
    return or_(*conditions)


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def log_query(f):
    """select(Message) with the filter applied (no order, no limit)."""
    query = select(Message)
    if f.q:
        # The matching deputies first (the roster is small): with their ids as a list the planner
        # reads the messages through ix_messages_deputy_id_id; a very common match stays a subquery.
        who = select(Deputy.id).where(deputy_condition(f.q))
        ids = db.session.scalars(who.limit(MAX_Q_DEPUTIES + 1)).all()
        by_deputy = Message.deputy_id.in_(ids if len(ids) <= MAX_Q_DEPUTIES else who)
        digits = _digits(f.q)
        if digits.isdigit() and len(digits) >= 7:
            # A number no longer on the roster (or a text to a number without a deputy) is still
            # found by its exact snapshot (ix_messages_to_id).
            query = query.where(or_(by_deputy, Message.to.in_(("+" + digits, "+86" + digits))))
        else:
            query = query.where(by_deputy)
    if f.notice_id is not None:
        query = query.where(Message.notice_id == f.notice_id)
    if f.status:
        query = query.where(Message.status == f.status)
    if f.error_code:
        query = query.where(Message.error_code == f.error_code)
    if f.level:
        query = query.where(Message.deputy_id.in_(
            select(deputy_levels.c.deputy_id).where(deputy_levels.c.level_code == f.level)))
    if f.since:
        query = query.where(Message.created_at >= f.since)
    if f.until:
        query = query.where(Message.created_at < f.until)
    return query


def search(f, before=None, limit=50):
    """One page, newest first: {"messages": [Message], "next_before": id or None}.

    `before` is the id of the last row of the previous page (keyset: rows arriving meanwhile
    never make a page skip or repeat one)."""
    query = log_query(f)
    if before:
        query = query.where(Message.id < before)
    rows = db.session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"messages": rows, "next_before": rows[-1].id if more and rows else None}


def _iso(value):
    return value.isoformat() if value is not None else None


def levels_of(deputy_ids):
    """{deputy_id: [level codes, highest first]} in one query."""
    ids = sorted({d for d in deputy_ids if d is not None})
    if not ids:
        return {}
    rank = {code: i for i, code in enumerate(LEVEL_CODES)}
    out = {}
    for deputy_id, code in db.session.execute(
            select(deputy_levels.c.deputy_id, deputy_levels.c.level_code).where(id_in(deputy_levels.c.deputy_id, ids))):
        out.setdefault(deputy_id, []).append(code)
    return {k: sorted(v, key=rank.get) for k, v in out.items()}


def notice_titles(notice_ids):
    ids = sorted({n for n in notice_ids if n is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(Notice.id, Notice.title).where(id_in(Notice.id, ids))).all())


def message_rows(messages, mask=None, when=None):
    """Messages as dicts for the log (page, API, export), with the deputy's name and levels, the
    notice title and the reply; three extra queries per batch, not per row. Times are ISO strings,
    or what `when(datetime)` makes of them (an export formats them once, not twice)."""
    when = when or _iso
    mask = mask or (lambda number: number)
    levels = levels_of(m.deputy_id for m in messages)
    titles = notice_titles(m.notice_id for m in messages)
    names = dict(db.session.execute(select(Deputy.id, Deputy.name).where(
        id_in(Deputy.id, sorted({m.deputy_id for m in messages if m.deputy_id is not None})))).all()) if messages else {}
    found = replies.for_messages((m.notice_id, m.deputy_id) for m in messages)
    status_labels = {k: str(v) for k, v in STATUS_LABELS.items()}  # translated once per batch, not per row
    error_titles = {}
    out = []
    for m in messages:
        if m.error_code not in error_titles:
            info = error_table.explain(m.error_code)
            error_titles[m.error_code] = str(info.title) if info else None
        out.append({
            "id": m.id, "notice_id": m.notice_id, "notice_title": titles.get(m.notice_id),
            "deputy_id": m.deputy_id, "name": names.get(m.deputy_id), "levels": levels.get(m.deputy_id, []),
            "to": mask(m.to), "status": m.status, "status_label": status_labels.get(m.status, m.status),
            "segments": m.segments, "attempts": m.attempts, "gateway": m.gateway, "gateway_id": m.gateway_id,
            "error_code": m.error_code, "error_message": m.error_message,
            "error_title": error_titles[m.error_code],
            "reply": replies.reply_dict(found.get((m.notice_id, m.deputy_id))),
            **{key: when(getattr(m, key)) for key in ("created_at", "queued_at", "sent_at", "delivered_at",
                                                      "failed_at", "updated_at")},
        })
    return out


def level_labels(codes):
    return [str(LEVEL_LABELS.get(c, c)) for c in codes]


def message_history(message_id, mask=None, with_exchanges=False):
    """The message (as message_rows gives it, plus its body), every event in order, and (for admins)
    the gateway exchanges, already redacted when stored. None when there is no such message."""
    if not 0 < message_id <= MAX_ID:
        return None
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    data = message_rows([message], mask)[0]  # the raw callbacks below are masked the same way
    data["body"] = message.body
    data["encoding"] = message.encoding
    data["sender"] = message.sender
    data["gateway_status"] = message.gateway_status
    info = error_table.explain(message.error_code)
    data["error_advice"] = str(info.advice) if info else None
    data["events"] = [
        {"id": e.id, "at": _iso(e.at), "kind": e.kind, "status": e.status, "source": e.source, "detail": e.detail,
         "raw": mask_in(e.raw, message.to, mask)}
        for e in db.session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id)
                                    .order_by(MessageEvent.at, MessageEvent.id))]
    if with_exchanges:
        data["exchanges"] = [
            {"id": x.id, "at": _iso(x.at), "method": x.method, "url": x.url, "request": x.request,
             "response_status": x.response_status, "response_body": x.response_body, "duration_ms": x.duration_ms,
             "error": x.error}
            for x in db.session.scalars(select(GatewayExchange).where(GatewayExchange.message_id == message_id)
                                        .order_by(GatewayExchange.at, GatewayExchange.id))]
    return data
