"""Duty-work pages (issue 13): groups and their members. Thin views over notifier.roster.groups
and notifier.duty."""
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from notifier.audit.service import record as record_event
from notifier.duty import meetings, record, suggestions
from notifier.duty.models import (
    ATTENDANCE_LABELS,
    ATTENDANCE_STATUSES,
    SUGGESTION_STATUS_LABELS,
    SUGGESTION_STATUSES,
    VIA_LABELS,
    Suggestion,
)
from notifier.extensions import db
from notifier.notices.models import Notice
from notifier.roster.exporter import XLSX_MIME
from notifier.roster.groups import get_group, groups_with_counts, members
from notifier.roster.models import GROUP_KIND_LABELS, GROUP_KINDS, LEVEL_LABELS, Deputy
from notifier.web.base import ProtectedView
from notifier.web.common import download, safe_next
from notifier.web.notice_views import notice_or_404

CATEGORY = _l("Duty work")


class GroupsView(ProtectedView):
    permission = "view"

    @expose("/")
    def index(self):
        kind = request.args.get("kind")
        return self.render("duty/groups.html", rows=groups_with_counts(kind if kind in GROUP_KINDS else None),
                           kind=kind, kinds=GROUP_KIND_LABELS)

    @expose("/<int:group_id>")
    def show(self, group_id):
        group = get_group(group_id)
        if group is None:
            abort(404)
        return self.render("duty/group.html", group=group, deputies=members(group))


REPLY_LABELS = {"confirmed": _l("Will attend"), "declined": _l("Asked for leave"), "received": _l("Received only"),
                "other": _l("Other reply"), "opted_out": _l("Opted out"), None: _l("No reply yet")}


def meeting_attendance(notice):
    """For the notice page (templates/duty/_attendance.html): a meeting's attendance, else None."""
    if not meetings.is_meeting(notice) or notice.status in meetings.NOT_SENT:
        return None
    rows = meetings.attendance(notice)
    return {"rows": rows, "summary": meetings.summary(rows), "labels": ATTENDANCE_LABELS,
            "replies": REPLY_LABELS, "via": VIA_LABELS, "statuses": ATTENDANCE_STATUSES,
            "can_set": current_user.can("compose")}


class MeetingsView(ProtectedView):
    """Meetings: the list of invitations, and the sign-in page staff use at the door (a phone)."""

    permission = "view"

    @expose("/")
    def index(self):
        rows = db.session.scalars(select(Notice).where(Notice.category == meetings.MEETING,
                                                       Notice.status.not_in(meetings.NOT_SENT))
                                  .order_by(Notice.meeting_at.desc().nulls_last(), Notice.id.desc()).limit(200)).all()
        return self.render("duty/meetings.html", rows=[(n, meetings.summary(meetings.attendance(n))) for n in rows])

    def _meeting(self, notice_id):
        notice = notice_or_404(notice_id)
        if not meetings.is_meeting(notice) or notice.status in meetings.NOT_SENT:
            abort(404)
        return notice

    @expose("/<int:notice_id>/sign-in")
    def sign_in(self, notice_id):
        notice = self._meeting(notice_id)
        rows = meetings.attendance(notice)
        return self.render("duty/sign_in.html", notice=notice, rows=rows, summary=meetings.summary(rows),
                           labels=ATTENDANCE_LABELS, q=request.args.get("q", ""))

    @expose("/<int:notice_id>/attendance", methods=("POST",))
    def set_attendance(self, notice_id):
        if not current_user.can("compose"):
            abort(403)
        notice = self._meeting(notice_id)
        deputy_id = request.form.get("deputy_id", "")
        via = "door" if request.form.get("via") == "door" else "staff"
        try:
            meetings.set_status(notice, int(deputy_id) if deputy_id.isdigit() and len(deputy_id) < 10 else None,
                                request.form.get("status"), current_user._get_current_object(), via=via)
        except meetings.AttendanceInvalid as exc:
            db.session.rollback()
            for messages in exc.errors.values():
                for message in messages:
                    flash(message, "error")
        else:
            name = db.session.get(Deputy, int(deputy_id)).name
            flash(_("%(name)s: %(status)s.", name=name, status=ATTENDANCE_LABELS[request.form["status"]]), "success")
        fallback = url_for("notices.show", notice_id=notice.id)
        return redirect(safe_next(request.form.get("next"), fallback))


def _flash_errors(exc):
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "error")


class SuggestionsView(ProtectedView):
    """Suggestions: the list (what is overdue first to see), one suggestion with its steps, and
    the form for a suggestion handed in on paper."""

    permission = "view"

    @expose("/")
    def index(self):
        args = request.args
        status = args.get("status") if args.get("status") in SUGGESTION_STATUSES else None
        overdue = args.get("overdue") == "1"
        rows = db.session.scalars(suggestions.suggestion_query(status, overdue=overdue)
                                  .order_by(Suggestion.id.desc()).limit(500)).all()
        overdue_count = db.session.scalar(select(db.func.count()).select_from(
            suggestions.suggestion_query(overdue=True).subquery()))
        return self.render("duty/suggestions.html", rows=rows, status=status, overdue=overdue,
                           statuses=SUGGESTION_STATUS_LABELS, overdue_count=overdue_count,
                           is_overdue=suggestions.is_overdue)

    @expose("/<int:suggestion_id>")
    def show(self, suggestion_id):
        suggestion = suggestions.get(suggestion_id)
        if suggestion is None:
            abort(404)
        return self.render("duty/suggestion.html", s=suggestion, organs=suggestions.organ_choices(),
                           default_due=suggestions.default_due_date(), overdue=suggestions.is_overdue(suggestion))

    def _act(self, suggestion_id, step):
        if not current_user.can("compose"):
            abort(403)
        suggestion = suggestions.get(suggestion_id)
        if suggestion is None:
            abort(404)
        form, actor = request.form, current_user._get_current_object()
        try:
            if step == "assign":
                due = form.get("due_date", "").strip()
                try:
                    due = date.fromisoformat(due) if due else None
                except ValueError:
                    due = "bad"
                suggestions.assign(suggestion, form.get("organ"), due, actor)
                flash(_("Assigned to %(organ)s, due %(due)s.", organ=suggestion.organ,
                        due=suggestion.due_date.isoformat()), "success")
            else:
                suggestions.answer(suggestion, form.get("answer"), actor)
                flash(_("The answer is recorded; the deputy is asked by text to rate it."), "success")
        except suggestions.SuggestionInvalid as exc:
            db.session.rollback()
            _flash_errors(exc)
        except suggestions.SuggestionConflict as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".show", suggestion_id=suggestion_id))

    @expose("/<int:suggestion_id>/assign", methods=("POST",))
    def assign(self, suggestion_id):
        return self._act(suggestion_id, "assign")

    @expose("/<int:suggestion_id>/answer", methods=("POST",))
    def answer(self, suggestion_id):
        return self._act(suggestion_id, "answer")

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if not current_user.can("compose"):
            abort(403)
        deputies = db.session.execute(select(Deputy.id, Deputy.name).where(Deputy.active.is_(True))
                                      .order_by(Deputy.name, Deputy.id)).all()
        if request.method == "POST":
            deputy_id = request.form.get("deputy_id", "")
            try:
                suggestion = suggestions.create_for_deputy(
                    int(deputy_id) if deputy_id.isdigit() and len(deputy_id) < 10 else None,
                    request.form.get("text"), current_user._get_current_object())
            except suggestions.SuggestionInvalid as exc:
                db.session.rollback()
                _flash_errors(exc)
            else:
                flash(_("Suggestion %(number)s is recorded.", number=suggestion.number), "success")
                return redirect(url_for(".show", suggestion_id=suggestion.id))
        return self.render("duty/suggestion_new.html", deputies=deputies, form=request.form)


class DutyRecordsView(ProtectedView):
    """The duty record: summaries per group and level with a chart, one deputy's record, the XLSX."""

    permission = "view"

    def _period(self):
        try:
            return record.period(request.args.get("since"), request.args.get("until")), None
        except record.PeriodInvalid as exc:
            return record.period(), exc

    @expose("/")
    def index(self):
        span, problem = self._period()
        if problem is not None:
            _flash_errors(problem)
        data = record.summaries(span)
        return self.render("duty/records.html", span=span, data=data, rate=record.attendance_rate,
                           kinds=GROUP_KIND_LABELS, level_labels=LEVEL_LABELS)

    @expose("/deputy/<int:deputy_id>")
    def deputy(self, deputy_id):
        deputy = db.session.get(Deputy, deputy_id) if deputy_id < 2**31 else None
        if deputy is None:
            abort(404)
        span, problem = self._period()
        if problem is not None:
            _flash_errors(problem)
        rec = record.deputy_record(deputy, span)
        mine = db.session.scalars(select(Suggestion).where(Suggestion.deputy_id == deputy.id)
                                  .order_by(Suggestion.id.desc()).limit(100)).all()
        return self.render("duty/record.html", deputy=deputy, span=span, rec=rec, rate=record.attendance_rate(rec),
                           suggestions=mine, level_labels=LEVEL_LABELS)

    @expose("/export.xlsx")
    def export(self):
        span, problem = self._period()
        if problem is not None:
            abort(400)
        data, filename = record.export_xlsx(span)
        record_event("duty.export", actor=current_user._get_current_object(), since=span.since.isoformat(),
                     until=span.until.isoformat())
        db.session.commit()
        return download(data, XLSX_MIME, filename)


def register(admin):
    admin.app.add_template_global(meeting_attendance, "meeting_attendance")
    admin.add_view(GroupsView(name=_l("Groups"), endpoint="groups", url="/groups", category=CATEGORY))
    admin.add_view(MeetingsView(name=_l("Meetings"), endpoint="meetings", url="/meetings", category=CATEGORY))
    admin.add_view(SuggestionsView(name=_l("Suggestions"), endpoint="suggestions", url="/suggestions",
                                   category=CATEGORY))
    admin.add_view(DutyRecordsView(name=_l("Duty records"), endpoint="duty_records", url="/duty-records",
                                   category=CATEGORY))
