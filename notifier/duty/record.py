"""The duty record (履职档案): per deputy and period, the notices received, confirmations and
leaves, meetings attended / on leave / absent, suggestions made and how they were answered; and
the sums per group and per level, for the year-end review (also as XLSX).

A period is [since, until] in local calendar days. A notice counts in the period it was sent in;
a meeting in the period it was held in (its meeting time, else its sending time), once its day
has come: a meeting on a later day makes no one absent yet.
"""
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from notifier.delivery.models import CANCELLED as MESSAGE_CANCELLED
from notifier.delivery.models import DELIVERED, SENT, SKIPPED, Message
from notifier.duty.models import (
    ABSENT,
    ANSWERED,
    ATTENDED,
    LEAVE,
    SATISFACTIONS,
    Attendance,
    Suggestion,
)
from notifier.extensions import db
from notifier.notices.models import CANCELLED, DRAFT, REJECTED, Notice
from notifier.replies.models import ANSWERS, CONFIRM, DECLINE, InboundMessage
from notifier.roster.levels import LEVEL_NAMES_ZH
from notifier.roster.models import LEVEL_CODES, Deputy, DeputyGroup
from notifier.timeutil import utcnow

KEYS = ("notices_received", "confirmed", "declined", "meetings_attended", "meetings_leave", "meetings_absent",
        "suggestions", "suggestions_answered")
NOT_SENT = (DRAFT, REJECTED, CANCELLED)


class PeriodInvalid(ValueError):
    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    def bounds(self):
        """[start, end) as aware datetimes in the configured zone."""
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        return (datetime.combine(self.since, time.min, tzinfo=zone),
                datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=zone))


def period(since=None, until=None, now=None):
    """A Period from dates (or ISO strings); the current local year by default. PeriodInvalid."""
    today = (now or utcnow()).astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    errors, values = {}, {}
    for key, value, default in (("since", since, date(today.year, 1, 1)), ("until", until, date(today.year, 12, 31))):
        if value in (None, ""):
            values[key] = default
        elif isinstance(value, date):
            values[key] = value
        else:
            try:
                values[key] = date.fromisoformat(str(value))
            except ValueError:
                errors[key] = [_("Give a date such as 2026-01-31.")]
    if not errors and values["since"] > values["until"]:
        errors["until"] = [_("The end of the period is before its start.")]
    if errors:
        raise PeriodInvalid(errors)
    return Period(values["since"], values["until"])


def _empty():
    record = {key: 0 for key in KEYS}
    record["satisfaction"] = {key: 0 for key in SATISFACTIONS}
    return record


def records(deputy_ids, span, now=None):
    """{deputy_id: record} for the deputies, in a handful of queries whatever their number."""
    now = now or utcnow()
    start, end = span.bounds()
    ids = sorted(set(deputy_ids))
    result = {i: _empty() for i in ids}
    if not ids:
        return result
    sent = db.session.execute(
        select(Message.deputy_id, Message.notice_id, Message.status).where(
            Message.deputy_id.in_(ids), Message.notice_id.is_not(None),
            Message.status.not_in((SKIPPED, MESSAGE_CANCELLED)),
            Message.created_at >= start, Message.created_at < end)).all()
    latest = _latest_answers(ids, {r.notice_id for r in sent})
    # Received: the gateway says so, or the deputy answered it (whatever the receipt said).
    got = {(r.deputy_id, r.notice_id) for r in sent
           if r.status in (SENT, DELIVERED) or (r.deputy_id, r.notice_id) in latest}
    for deputy_id, _notice_id in got:
        result[deputy_id]["notices_received"] += 1
    for (deputy_id, notice_id), kind in latest.items():
        if (deputy_id, notice_id) in got:
            if kind == CONFIRM:
                result[deputy_id]["confirmed"] += 1
            elif kind == DECLINE:
                result[deputy_id]["declined"] += 1
    held = func.coalesce(Notice.meeting_at, Notice.sending_at, Notice.created_at)
    # Meetings held by the end of today count (who has not signed in is absent, as on the list);
    # one still to come on a later day makes no one absent yet.
    today_ends = Period(span.since, now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()).bounds()[1]
    invited = db.session.execute(
        select(Message.deputy_id, Message.notice_id).join(Notice, Notice.id == Message.notice_id).where(
            Message.deputy_id.in_(ids), Notice.category == "meeting", Notice.status.not_in(NOT_SENT),
            Message.status.not_in((SKIPPED, MESSAGE_CANCELLED)), held >= start, held < end, held < today_ends)
        .distinct()).all()
    pairs = {(r.deputy_id, r.notice_id) for r in invited}
    meeting_answers = _latest_answers(ids, {n for _d, n in pairs})
    marked = {(r.deputy_id, r.notice_id): r.status for r in db.session.execute(
        select(Attendance.deputy_id, Attendance.notice_id, Attendance.status).where(
            Attendance.deputy_id.in_(ids), Attendance.notice_id.in_(sorted({n for _d, n in pairs}) or [0])))}
    for pair in pairs:
        status = marked.get(pair) or (LEAVE if meeting_answers.get(pair) == DECLINE else ABSENT)
        key = {ATTENDED: "meetings_attended", LEAVE: "meetings_leave", ABSENT: "meetings_absent"}[status]
        result[pair[0]][key] += 1
    for row in db.session.execute(select(Suggestion.deputy_id, Suggestion.status, Suggestion.satisfaction).where(
            Suggestion.deputy_id.in_(ids), Suggestion.created_at >= start, Suggestion.created_at < end)):
        record = result[row.deputy_id]
        record["suggestions"] += 1
        if row.status == ANSWERED:
            record["suggestions_answered"] += 1
            if row.satisfaction in SATISFACTIONS:
                record["satisfaction"][row.satisfaction] += 1
    return result


def _latest_answers(deputy_ids, notice_ids):
    """{(deputy_id, notice_id): kind of the answer that counts (the latest)}."""
    if not notice_ids:
        return {}
    rows = db.session.execute(
        select(InboundMessage.deputy_id, InboundMessage.notice_id, InboundMessage.kind).where(
            InboundMessage.deputy_id.in_(deputy_ids), InboundMessage.notice_id.in_(sorted(notice_ids)),
            InboundMessage.kind.in_(ANSWERS)).order_by(InboundMessage.received_at, InboundMessage.id)).all()
    return {(r.deputy_id, r.notice_id): r.kind for r in rows}


def deputy_record(deputy, span, now=None):
    """The API's record of one deputy."""
    record = records([deputy.id], span, now)[deputy.id]
    return {"deputy_id": deputy.id, "name": deputy.name, "since": span.since.isoformat(),
            "until": span.until.isoformat(), **record}


def _sum(rows):
    total = _empty()
    for record in rows:
        for key in KEYS:
            total[key] += record[key]
        for key in SATISFACTIONS:
            total["satisfaction"][key] += record["satisfaction"][key]
    return total


def summaries(span, now=None):
    """{"deputies": [(Deputy, record)], "groups": [(DeputyGroup, members, record)],
    "levels": [(code, members, record)], "total": record} over the active deputies."""
    deputies = db.session.scalars(select(Deputy).where(Deputy.active.is_(True)).order_by(Deputy.name, Deputy.id)).all()
    by_id = records([d.id for d in deputies], span, now)
    groups = db.session.scalars(select(DeputyGroup).order_by(DeputyGroup.kind, DeputyGroup.name)).all()
    group_rows = []
    for group in groups:
        members = [d for d in deputies if group in d.groups]
        group_rows.append((group, len(members), _sum(by_id[d.id] for d in members)))
    level_rows = []
    for code in LEVEL_CODES:
        members = [d for d in deputies if code in d.level_codes]
        level_rows.append((code, len(members), _sum(by_id[d.id] for d in members)))
    return {"deputies": [(d, by_id[d.id]) for d in deputies], "groups": group_rows, "levels": level_rows,
            "total": _sum(by_id.values())}


def attendance_rate(record):
    """Share of the meetings held that the deputy (or group) attended, 0-100, or None."""
    held = record["meetings_attended"] + record["meetings_leave"] + record["meetings_absent"]
    return round(100 * record["meetings_attended"] / held) if held else None


# --- export --------------------------------------------------------------------------------------

def _headers():
    return [_("Notices received"), _("Confirmed"), _("Declined"), _("Meetings attended"), _("Meetings on leave"),
            _("Meetings absent"), _("Suggestions"), _("Suggestions answered"), _("Satisfied"),
            _("Basically satisfied"), _("Dissatisfied")]


def _figures(record):
    return [record[key] for key in KEYS] + [record["satisfaction"][key] for key in SATISFACTIONS]


def export_xlsx(span, now=None):
    """The year-end review workbook: one sheet per deputy row, per group (with a chart of
    attendance), per level. Returns (bytes, filename)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    from notifier.roster.exporter import escape_cell

    data = summaries(span, now)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Deputies")[:31]
    bold = Font(bold=True)
    sheet.append([_("Name"), _("Levels"), _("Groups")] + _headers())
    for deputy, record in data["deputies"]:
        sheet.append([escape_cell(deputy.name), "、".join(LEVEL_NAMES_ZH[c] for c in deputy.level_codes),
                      escape_cell("、".join(g.name for g in deputy.groups))] + _figures(record))
    groups = workbook.create_sheet(_("Groups")[:31])
    groups.append([_("Group"), _("Members")] + _headers())
    for group, members, record in data["groups"]:
        groups.append([escape_cell(group.name), members] + _figures(record))
    if data["groups"]:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.title = _("Meetings per group")
        chart.add_data(Reference(groups, min_col=6, max_col=8, min_row=1, max_row=1 + len(data["groups"])),
                       titles_from_data=True)
        chart.set_categories(Reference(groups, min_col=1, min_row=2, max_row=1 + len(data["groups"])))
        chart.height, chart.width = 4 + 0.8 * len(data["groups"]), 18
        groups.add_chart(chart, f"A{len(data['groups']) + 4}")
    levels = workbook.create_sheet(_("Levels")[:31])
    levels.append([_("Level"), _("Members")] + _headers())
    for code, members, record in data["levels"]:
        levels.append([LEVEL_NAMES_ZH[code], members] + _figures(record))
    for ws in (sheet, groups, levels):
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"
        ws.column_dimensions["A"].width = 20
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), f"duty-record-{span.since.isoformat()}-{span.until.isoformat()}.xlsx"


__all__ = ["period", "records", "deputy_record", "summaries", "export_xlsx", "PeriodInvalid"]
