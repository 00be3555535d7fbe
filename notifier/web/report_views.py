"""Report pages: the overview dashboard, the message log with its history pages, notice reports
with "retry failed", and the exports. Thin views over notifier.reports."""
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_admin import expose
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from notifier.accounts.models import ROLE_LABELS, ROLES
from notifier.delivery.models import STATUS_LABELS, STATUSES, Message
from notifier.extensions import db
from notifier.gateways.base import redact
from notifier.notices import workflow
from notifier.reports import charts, dashboard, export, masking, report
from notifier.reports.config import conf
from notifier.reports.errors import CODES
from notifier.reports.log import (
    MAX_ID,
    level_labels,
    message_history,
    message_rows,
    parse_filters,
    search,
)
from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS
from notifier.web.base import ProtectedView
from notifier.web.notice_views import follow_up, notice_or_404

# The engine's queues, as the dashboard names them (the names themselves are for operators).
QUEUE_LABELS = {"send": _l("Sending tasks"), "callbacks": _l("Receipts and reconciliation"),
                "periodic": _l("Notices and periodic jobs"),
                "jobs": _l("Imports and exports"), "unacked": _l("Taken by workers, not yet done")}

CATEGORY = _l("Reports")


def _actor():
    return current_user._get_current_object()


def _mask():
    return masking.masker(current_user)


def _time(iso, pattern="MM-dd HH:mm"):
    if not iso:
        return ""
    value = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    return format_datetime(value, pattern)


def _short_time(iso):
    return _time(iso)


def _precise_time(iso):
    """With seconds: a message's events often come within the same minute."""
    return _time(iso, "yyyy-MM-dd HH:mm:ss")


# A message's history in words (message_events.kind and .source are codes).
EVENT_LABELS = {"status": _l("Status change"), "retry": _l("Will retry"), "error": _l("Gateway error"),
                "reconcile": _l("Checked with the gateway"), "sweep": _l("Queued again"),
                "callback": _l("Receipt from the gateway"), "sweeper": _l("Status asked of the gateway"),
                "no_receipt": _l("Closed without a receipt"), "held": _l("Waiting"),
                "cmpp": _l("Report from the carrier")}
ORIGIN_LABELS = {"worker": _l("Sending worker"), "callback": _l("Gateway receipt"),
                 "reconcile": _l("Reconciliation"), "sweeper": _l("Periodic check"),
                 "cmpp": _l("CMPP connector")}


def _percent(rate):
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _seconds(value):
    if value is None:
        return "–"
    if value < 90:
        return _("%(n)s s", n=f"{value:.0f}")
    if value < 5400:
        return _("%(n)s min", n=f"{value / 60:.1f}")
    return _("%(n)s h", n=f"{value / 3600:.1f}")


def _stream(fmt, query, stem, title=None):
    response = Response(stream_with_context(export.chunks(fmt, query, _mask(), title)), mimetype=export.MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename={export.filename(stem, fmt)}"
    response.headers["Cache-Control"] = "no-store"  # personal phone numbers
    return response


def _export(fmt, query, stem, title, what, target=None, detail=None, rows_again=None):
    """CSV streams from the database as it is read; a large XLSX is written by a worker (the job
    page that follows shows its progress, then the file). Either way the export is audited first.
    `rows_again`: what the job needs to read the same rows (notifier.reports.jobs.export_params)."""
    detail = detail or {}
    rows = export.count(query) if fmt == "xlsx" else 0
    if rows <= conf("REPORTS_EXPORT_JOB_ROWS"):
        export.record_export(what, fmt, _actor(), target=target, **detail)
        return _stream(fmt, query, stem, title)
    from flask_babel import get_locale

    from notifier.jobs import service as jobs
    from notifier.reports.jobs import export_params

    job = jobs.create("reports.export", _actor(), export_params(
        what, title=str(title), file_name=export.filename(stem, fmt), **rows_again), total=rows, locale=get_locale())
    export.record_export(what, fmt, _actor(), target=target, job_id=job.id, rows=rows, **detail)
    return redirect(url_for("jobs.show", job_id=job.id))


def _format():
    fmt = request.args.get("format", "csv")
    if fmt not in export.FORMATS:
        abort(400)
    return fmt


def error_label(code, message):
    """A text's error as staff read it: the known code's title, else what the gateway said."""
    if code in CODES:
        return f"{code} {CODES[code].title}"
    from notifier.web.notice_views import REASON_LABELS

    return str(REASON_LABELS.get(message, message or ""))


class DashboardView(ProtectedView):
    permission = "view"

    @expose("/")
    def index(self):
        data = dashboard.overview(30)
        try:
            state = dashboard.current_state()
        except Exception as exc:  # noqa: BLE001  (the overview must show even if the engine's numbers fail)
            db.session.rollback()
            state = {"error": str(exc)}
        days = data["per_day"]
        chart_days = charts.series([(d["day"][5:], d["texts"]) for d in days], kind="columns", chart_id="chart-daily",
                                   colour=charts.PALETTE[0])
        chart_rate = charts.series([(d["day"][5:], None if d["delivery_rate"] is None else
                                     round(d["delivery_rate"] * 100, 1)) for d in days],
                                   chart_id="chart-rate", y_label="%", top=100)
        chart_levels = charts.bars([(r["label"], r["texts"]) for r in data["by_level"]], chart_id="chart-levels")
        chart_sources = charts.bars([(r["label"], r["texts"]) for r in data["by_source"]], chart_id="chart-sources",
                                    colour=charts.PALETTE[5])
        return self.render("reports/dashboard.html", data=data, state=state, percent=_percent,
                           queue_labels=QUEUE_LABELS, status_labels=STATUS_LABELS, charts={
            "daily": chart_days, "rate": chart_rate, "levels": chart_levels, "sources": chart_sources},
            roles=[(r, ROLE_LABELS[r]) for r in ROLES if r != "admin"], masked=masking.masked_roles())

    @expose("/settings", methods=("POST",))
    def settings(self):
        if not current_user.can("admin"):
            abort(403)
        masking.set_masked_roles(request.form.getlist("mask"), _actor())
        flash(_("Saved: numbers are masked for the roles ticked."), "success")
        return redirect(url_for(".index"))


class MessageLogView(ProtectedView):
    permission = "view"

    @expose("/")
    def index(self):
        f, problems = parse_filters(request.args)
        for field, messages in problems.items():
            for message in messages:
                flash(f"{field}: {message}", "error")
        before = request.args.get("before", type=int)
        if before is not None and not 0 < before <= MAX_ID + 1:
            before = None
        page = search(f, before=before, limit=conf("REPORTS_PAGE_SIZE")) if not problems else \
            {"messages": [], "next_before": None}
        rows = message_rows(page["messages"], _mask())
        args = f.as_args()
        return self.render("reports/log.html", rows=rows, args=args, next_before=page["next_before"], before=before,
                           statuses=[(s, STATUS_LABELS[s]) for s in STATUSES],
                           levels=[(c, LEVEL_LABELS[c]) for c in LEVEL_CODES], level_labels=level_labels,
                           short_time=_short_time, problems=problems)

    @expose("/export")
    def export_log(self):
        fmt = _format()
        f, problems = parse_filters(request.args)
        if problems:
            abort(400)
        return _export(fmt, export.log_query(f), "messages", _("Messages"), "messages",
                       detail={"filters": f.as_args()}, rows_again={"filters": f.as_args()})

    @expose("/<int:message_id>")
    def show(self, message_id):
        admin = current_user.can("admin")
        data = message_history(message_id, _mask(), with_exchanges=admin)
        if data is None:
            abort(404)
        if admin:
            secrets = [current_app.config.get("TWILIO_AUTH_TOKEN")]
            for x in data["exchanges"]:  # stored redacted; redacted again in case the token changed since
                x["request_text"] = json.dumps(redact(x["request"], secrets), ensure_ascii=False, indent=1)
                x["response_body"] = redact(x["response_body"] or "", secrets)
        return self.render("reports/message.html", m=data, admin=admin, level_labels=level_labels,
                           status_labels=STATUS_LABELS, short_time=_precise_time, event_labels=EVENT_LABELS,
                           origin_labels=ORIGIN_LABELS)

    @expose("/notices/<int:notice_id>")
    def notice(self, notice_id):
        notice = notice_or_404(notice_id)
        data = report.notice_report(notice)
        funnel_chart = charts.bars([(s["label"], s["count"]) for s in data["funnel"]], chart_id="chart-funnel")
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        points = data["series"]["points"]
        fmt = "%H:%M" if (data["series"]["step"] or 0) < 86400 else "%m-%d"
        delivered_chart = charts.series([(p["t"].astimezone(zone).strftime(fmt), p["cumulative"]) for p in points],
                                        chart_id="chart-delivered")
        return self.render("reports/notice.html", notice=notice, r=data, charts={"funnel": funnel_chart,
                           "delivered": delivered_chart}, percent=_percent, seconds=_seconds,
                           can_retry=current_user.can("compose"))

    @expose("/notices/<int:notice_id>/export")
    def export_notice(self, notice_id):
        fmt = _format()
        notice = notice_or_404(notice_id)
        query, stem, ids = export.notice_query(notice.id), f"notice-{notice.id}", None
        if request.args.get("only") == "unreached":  # the call list: who the notice did not reach
            ids = [r["message_id"] for r in report.unreached(notice.id)]
            query, stem = query.where(Message.id.in_(ids)).order_by(Message.id), f"notice-{notice.id}-not-reached"
        return _export(fmt, query, stem, _("Notice %(id)s", id=notice.id), "notice", target=notice,
                       detail={"only": "unreached"} if ids is not None else {},
                       rows_again={"notice_id": notice.id, "ids": ids})

    @expose("/notices/<int:notice_id>/not-reached")
    def unreached_list(self, notice_id):
        """The call list on a page of its own, to print."""
        notice = notice_or_404(notice_id)
        mask = _mask()
        rows = [{**r, "to": mask(r["to"]), "error": error_label(r["error_code"], r["error_message"])}
                for r in report.unreached(notice.id)]
        return self.render("reports/not_reached.html", notice=notice, rows=rows, status_labels=STATUS_LABELS)

    @expose("/<int:message_id>/resend", methods=("POST",))
    def resend(self, message_id):
        if not current_user.can("compose"):
            abort(403)
        message = db.session.get(Message, message_id) if message_id < 2**31 else None
        if message is None:
            abort(404)
        follow, refused = follow_up(report.resend_message, message, _actor())
        if refused:
            back = redirect(url_for(".show", message_id=message_id))
            return (back, 403) if isinstance(refused, workflow.NotAllowed) else back
        flash(_("Follow-up notice #%(id)s to %(n)s deputies is waiting for approval.", id=follow.id, n=1)
              if follow.status == "pending_approval" else
              _("Follow-up notice #%(id)s to %(n)s deputies is being sent.", id=follow.id, n=1), "success")
        return redirect(url_for(".show", message_id=message_id))

    @expose("/notices/<int:notice_id>/retry", methods=("POST",))
    def retry(self, notice_id):
        follow, refused = follow_up(report.retry_failed, notice_or_404(notice_id), _actor())
        if refused:
            back = redirect(url_for(".notice", notice_id=notice_id))
            return (back, 403) if isinstance(refused, workflow.NotAllowed) else back
        if follow.status == "pending_approval":
            flash(_("Follow-up notice #%(id)s to %(n)s deputies is waiting for approval.", id=follow.id,
                    n=len(follow.audience.get("deputy_ids", []))), "success")
        else:
            flash(_("Follow-up notice #%(id)s to %(n)s deputies is being sent.", id=follow.id,
                    n=len(follow.audience.get("deputy_ids", []))), "success")
        return redirect(url_for("notices.show", notice_id=notice_id))  # the resend is listed there


def register(admin):
    admin.add_view(DashboardView(name=_l("Overview"), endpoint="reports", url="/reports", category=CATEGORY))
    admin.add_view(MessageLogView(name=_l("Delivery log"), endpoint="message_log", url="/messages",
                                  category=CATEGORY))
    admin.app.add_template_global(CODES, "twilio_error_codes")
