"""Notice pages: list, compose/edit with a live preview, the approval queue (with a count in the
menu for approvers), and the notice page with live progress. Thin views over notifier.notices."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from notifier.accounts.models import User
from notifier.audit.labels import REASON_LABELS as AUDIT_REASON_LABELS
from notifier.audit.labels import action_label, detail_items
from notifier.audit.models import AuditEvent
from notifier.delivery.models import FINAL_STATUSES
from notifier.delivery.models import STATUSES as MESSAGE_STATUSES
from notifier.extensions import db
from notifier.notices import followups, listing, rendering, templates, workflow
from notifier.notices.dispatch import counts
from notifier.notices.models import (
    APPROVED,
    CANCELLED,
    CATEGORIES,
    CATEGORY_LABELS,
    COMPLETED,
    DRAFT,
    OPEN_STATUSES,
    PENDING_APPROVAL,
    REJECTED,
    REPLY_LABELS,
    REPLY_MODES,
    SCHEDULED,
    SENDING,
    SOURCE_LABELS,
    SOURCES,
    STATUS_LABELS,
    Notice,
)
from notifier.notices.settings import approval_required, set_setting
from notifier.notices.summary import get_notice, message_to_dict, messages_query, outgoing, preview
from notifier.paging import NEWER, OLDER, BadCursor
from notifier.reports.masking import sees_full_numbers
from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS, DeputyGroup, Tag
from notifier.roster.service import SEARCH_MAX_LENGTH, deputies_by_id, search_deputies
from notifier.timeutil import utcnow
from notifier.web.base import ProtectedView, SecureForm
from notifier.web.common import (
    CountedLabel,
    join_list,
    local_datetime,
    number_mask,
)
from notifier.web.gateway_views import gateway_label
from notifier.web.roster_views import shown_phone

MESSAGE_STATUS_LABELS = {
    "pending": _l("Pending"), "queued": _l("Queued"), "sending": _l("Sending"), "sent": _l("Sent"),
    "delivered": _l("Delivered"), "undelivered": _l("Undelivered"), "failed": _l("Failed"),
    "skipped": _l("Skipped"), "cancelled": _l("Cancelled"),
}
AUDIT_LABELS = {
    "notice.create": _l("Notice created"), "notice.update": _l("Edited"), "notice.submit": _l("Submitted for approval"),
    "notice.approve": _l("Approved"), "notice.reject": _l("Rejected"), "notice.schedule": _l("Scheduled"),
    "notice.due": _l("Scheduled time reached"), "notice.send": _l("Sending started"),
    "notice.complete": _l("Completed"), "notice.cancel": _l("Cancelled"),
    "notice.remind": _l("Reminder sent to those who had not replied"), "notice.retry_failed": _l("Failed texts resent"),
    "export.notice": _l("Delivery list exported"),
}
# The notice's fields as an edit lists them in the history ("Edited · 张三: Text, Audience").
FIELD_LABELS = {
    "title": _l("Notice title"), "body": _l("Text"), "category": _l("Category"), "source": _l("Source"),
    "audience": _l("Audience"), "reply_mode": _l("Reply"), "reply_deadline": _l("Reply deadline"),
    "scheduled_at": _l("Send at"), "urgent": _l("Urgent"), "meeting_at": _l("Meeting time"),
    "meeting_place": _l("Meeting place"),
}
# Reasons the outbox stores in English (they are data); shown translated.
REASON_LABELS = {"opted out": _l("Opted out"), "inactive": _l("Inactive"), "notice cancelled": _l("Notice cancelled")}
BEFORE_DISPATCH = (DRAFT, PENDING_APPROVAL, REJECTED, APPROVED, SCHEDULED)
SEARCH_LIMIT = 20  # deputies the compose page's picker shows for what is typed
PAGE_MESSAGES = 200  # recipients shown on the notice page (the API pages through all of them)

assets = Blueprint("notice_assets", __name__, static_folder="static", static_url_path="/_notices")


def _checkboxes():
    return {"widget": ListWidget(prefix_label=False), "option_widget": CheckboxInput()}


class NoticeForm(SecureForm):
    title = StringField(_l("Notice title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(
        _l("Text"), validators=[DataRequired(), Length(max=5000)],
        description=_l("Placeholders: {name}, {title}, {organisation}, {constituency}. The signature and the reply "
                       "instruction are added to every text."))
    category = SelectField(_l("Category"), choices=lambda: [(c, CATEGORY_LABELS[c]) for c in CATEGORIES])
    source = SelectField(_l("Source"), choices=lambda: [(s, SOURCE_LABELS[s]) for s in SOURCES])
    levels = SelectMultipleField(_l("Levels"), choices=lambda: [(c, LEVEL_LABELS[c]) for c in LEVEL_CODES],
                                 **_checkboxes())
    tags = SelectMultipleField(_l("Tags"), validate_choice=False, **_checkboxes())
    groups = SelectMultipleField(_l("Groups"), coerce=int, validate_choice=False, **_checkboxes())
    deputy_ids = SelectMultipleField(_l("Individual deputies"), coerce=int, validate_choice=False)
    reply = RadioField(_l("Reply"), choices=lambda: [(m, REPLY_LABELS[m]) for m in REPLY_MODES], default="none")
    reply_deadline = DateTimeLocalField(_l("Reply deadline"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    scheduled_at = DateTimeLocalField(_l("Send at"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                      description=_l("Leave empty to send as soon as it is approved."))
    urgent = BooleanField(_l("Urgent"), description=_l("Urgent notices are sent during quiet hours too."))
    meeting_at = DateTimeLocalField(_l("Meeting time"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                    description=_l("For a meeting: deputies may text 签到 on that day to sign in."))
    meeting_place = StringField(_l("Meeting place"), validators=[Optional(), Length(max=200)])
    template = SelectField(_l("Template"), validate_choice=False, description=_l(
        "Aliyun SMS sends only approved templates: choose one and fill in its variables."))


class RejectForm(SecureForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def _to_utc(value):
    return value.replace(tzinfo=_zone()) if value is not None else None


def _to_local(value):
    return value.astimezone(_zone()).replace(tzinfo=None) if value is not None else None


def _fill_choices(form):
    form.tags.choices = [(t, t) for t in db.session.scalars(select(Tag.name).order_by(Tag.name))]
    form.groups.choices = [(g.id, g.name) for g in db.session.scalars(select(DeputyGroup).order_by(
        DeputyGroup.kind, DeputyGroup.name))]
    form.template.choices = [("", _("None: write the text"))] + [
        (t.code, f"{t.code} {t.name or t.text[:20]}") for t in templates.approved_templates()]


def _chosen_deputies(form):
    """The individual deputies chosen so far (a draft's, or the ones posted back with a field
    error), by name, for the picker to show: the page never loads the whole roster, the picker
    asks deputy_search as the user types. A number shows formatted, or masked for masked roles;
    an id no longer on the roster shows as "#id" (the audience's error says so)."""
    ids = list(dict.fromkeys(i for i in (form.deputy_ids.data or []) if isinstance(i, int)))
    found = deputies_by_id(ids)
    form.deputy_ids.choices = [(i, f"{found[i].name} {shown_phone(found[i].phone)}" if i in found else f"#{i}")
                               for i in ids]


def _chosen_template(form, notice):
    """The template the page composes from (asked for, or the notice's own), with the values
    typed for its variables. Without one the page is the ordinary compose page."""
    code = request.values.get("template")
    if code is None and notice is not None and notice.template is not None:
        code = notice.template.code
    template = templates.find_template(code) if code else None
    if template is None:
        return None, {}
    form.template.data = template.code
    form.body.validators = [Optional()]  # the text is the template's
    if request.method == "POST":
        params = {var: request.form.get(f"param-{var}", "").strip() for var in template.variables}
    else:
        params = dict((notice.template_params if notice is not None and notice.template_id == template.id else {})
                      or {})
    return template, {k: v for k, v in params.items() if v}


def _form_data(form, template=None, params=None):
    if template is not None:
        return {**_form_data(form), "body": None, "template": template.code, "params": params or {}}
    return {
        "title": form.title.data, "body": form.body.data, "category": form.category.data,
        "source": form.source.data, "reply": form.reply.data, "urgent": form.urgent.data,
        "audience": {"levels": form.levels.data or [], "tags": form.tags.data or [], "groups": form.groups.data or [],
                     "deputy_ids": form.deputy_ids.data or []},
        "reply_deadline": _to_utc(form.reply_deadline.data), "scheduled_at": _to_utc(form.scheduled_at.data),
        "meeting_at": _to_utc(form.meeting_at.data), "meeting_place": form.meeting_place.data,
    }


def _show_errors(form, errors):
    """Put the domain's field errors on the form's fields (the audience ones on its parts)."""
    for key, messages in errors.items():
        if key.startswith("params"):
            continue  # shown beside the template's variables
        if key == "audience" and isinstance(messages, dict):
            for part, part_messages in messages.items():
                getattr(form, part, form.levels).errors = list(part_messages)
        else:
            target = getattr(form, key, None) or (form.levels if key == "audience" else form.body)
            target.errors = list(messages) if isinstance(messages, list) else [str(messages)]


def allowed_steps(notice):
    """Which buttons the current user sees on a notice."""
    user, status = current_user, notice.status
    can_decide = workflow.may_decide(notice, user) and status == PENDING_APPROVAL
    return {
        "edit": user.can("compose") and status in workflow.EDITABLE,
        "submit": user.can("compose") and status in workflow.EDITABLE,
        "approve": can_decide,
        "reject": can_decide,
        "cancel": user.can("compose") and status in OPEN_STATUSES,
        # An approver who wrote or last changed it is told why there is no approve button.
        "four_eyes": workflow.why_not_decide(notice, user) if user.can("approve") and status == PENDING_APPROVAL
        else None,
    }


# The progress bar's four parts and the message statuses each one shows.
PROGRESS_BARS = {"delivered": ("delivered",), "sent": ("sent", "sending"), "failed": ("failed", "undelivered"),
                 "other": ("skipped", "cancelled")}


def history(notice):
    """Who did what to the notice and when, oldest first (its audit events, readable): people by
    their display name, the platform's own steps as "system" in the reader's language."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.target_type == "notices", AuditEvent.target_id == str(notice.id),
        # One per invitee signed in: the attendance list shows them, the audit trail keeps them.
        AuditEvent.action != "meeting.attendance").order_by(AuditEvent.id)).all()
    names = dict(db.session.execute(select(User.id, User.display_name).where(
        User.id.in_({e.user_id for e in events if e.user_id}))).all())

    def who(event):
        if event.actor == "system" and not event.user_id:
            return str(_l("System"))
        return names.get(event.user_id) or event.actor

    def reason(event):
        detail = event.detail or {}
        if event.action == "notice.update":  # every editor and what they changed stays on record
            return join_list(detail.get("changed") or [], FIELD_LABELS)
        if event.action in ("notice.remind", "notice.retry_failed"):
            follow = detail.get("reminder_id") or detail.get("retry_notice_id")
            return _("#%(id)s to %(n)s deputies", id=follow, n=detail.get("deputies", 0)) if follow else ""
        if event.action.startswith("export."):
            return join_list([value for _label, value in detail_items({"format": detail.get("format")})])
        if event.action == "notice.schedule" and detail.get("send_after"):
            return _("from %(when)s", when=local_datetime(datetime.fromisoformat(detail["send_after"])))
        reason = detail.get("reason")
        return str(AUDIT_REASON_LABELS.get(reason, reason)) if reason else ""

    return [{"action": e.action, "at": local_datetime(e.at),
             "label": str(AUDIT_LABELS.get(e.action) or action_label(e.action)),
             "who": who(e), "reason": reason(e)} for e in events]


def progress(notice):
    by_status = counts(notice.id)
    total = by_status["total"]
    unfinished = sum(by_status[s] for s in MESSAGE_STATUSES if s not in FINAL_STATUSES)
    messages = db.session.scalars(messages_query(notice.id).limit(PAGE_MESSAGES)).all()
    mask = number_mask()
    return {
        "status": notice.status, "status_label": str(STATUS_LABELS[notice.status]),
        "counts": by_status, "labels": {s: str(MESSAGE_STATUS_LABELS[s]) for s in MESSAGE_STATUSES},
        "bars": {bar: round(100 * sum(by_status[s] for s in statuses) / total, 1) if total else 0
                 for bar, statuses in PROGRESS_BARS.items()},
        "as_of": local_datetime(utcnow()),
        "history": history(notice),  # the page follows steps taken meanwhile (sending started, completed)
        "live": notice.status not in (COMPLETED,) and not (notice.status == CANCELLED and not unfinished)
        and notice.status not in workflow.EDITABLE,
        # Numbers as the roster writes them (138 0013 8000), masked for masked roles.
        "messages": [{**message_to_dict(m, mask), "to": shown_phone(m.to),
                      "status_label": str(MESSAGE_STATUS_LABELS[m.status]),
                      "error_message": error_text(m),
                      **{k: local_datetime(getattr(m, k)) for k in ("queued_at", "sent_at", "delivered_at",
                                                                    "failed_at", "updated_at")}}
                     for m in messages],
    }


def error_text(message):
    """What went wrong with a text, in the reader's language when the gateway's code is known."""
    from notifier.reports.errors import CODES

    if message.error_code in CODES:
        return f"{message.error_code} {CODES[message.error_code].title}"
    return str(REASON_LABELS.get(message.error_message, message.error_message or ""))


def _unreached(notice):
    """The call list on the notice page: who it did not reach (numbers masked for masked roles)."""
    if notice.status not in (SENDING, COMPLETED, CANCELLED):
        return []
    from notifier.reports.report import unreached
    from notifier.web.report_views import error_label

    mask = number_mask()
    return [{**r, "to": mask(r["to"]), "error": error_label(r["error_code"], r["error_message"])}
            for r in unreached(notice.id)]


def notice_or_404(notice_id):
    notice = get_notice(notice_id)
    if notice is None:
        abort(404)
    return notice


def follow_up(make, notice, actor):
    """make(notice, actor) -> a follow-up notice (a reminder, a retry). When the workflow refuses:
    None and the refusal, the session rolled back and the reason flashed."""
    try:
        return make(notice, actor), None
    except (workflow.WorkflowError, workflow.NoticeInvalid) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None, exc


def notice_list_query(args):
    """The notice list's query for its filters (the home page counts with the same one)."""
    return listing.list_query(args)


def page_args(args):
    """The list's cursor and direction from the URL (?older=... or ?newer=...), and its other
    arguments (the filters) for the links to the next pages."""
    filters = {k: v for k, v in args.items() if k not in (OLDER, NEWER) and v}
    if args.get(NEWER):
        return args[NEWER], NEWER, filters
    return args.get(OLDER) or None, OLDER, filters


def keyset_or_first(fetch, args):
    """fetch(cursor, direction) -> Page, the first page when the URL's cursor does not decode."""
    cursor, direction, filters = page_args(args)
    try:
        return fetch(cursor, direction), filters, cursor
    except BadCursor:
        flash(_("That page link is not valid; here is the newest page."), "warning")
        return fetch(None, OLDER), filters, None


class NoticesView(ProtectedView):
    permission = "view"

    def _need(self, permission):
        if not current_user.can(permission):
            abort(403)

    @expose("/")
    def index(self):
        args = request.args
        page, filters, cursor = keyset_or_first(lambda c, d: listing.list_page(args, c, d), args)
        authors = db.session.execute(select(User.id, User.username).where(
            User.id.in_(select(Notice.created_by_id))).order_by(User.username)).all()
        return self.render("notices/list.html", notices=page.rows, page=page, filters=filters, paged=bool(cursor),
                           args=args, authors=authors,
                           statuses=STATUS_LABELS, categories=CATEGORY_LABELS, sources=SOURCE_LABELS)

    @expose("/new", methods=("GET", "POST"))
    def compose(self):
        self._need("compose")
        return self._edit(None)

    @expose("/<int:notice_id>/edit", methods=("GET", "POST"))
    def edit(self, notice_id):
        self._need("compose")
        notice = notice_or_404(notice_id)
        if notice.status not in workflow.EDITABLE:
            flash(_("Only a draft can be edited."), "error")
            return redirect(url_for(".show", notice_id=notice.id))
        return self._edit(notice)

    def _edit(self, notice):
        form = NoticeForm()
        _fill_choices(form)
        template, params = _chosen_template(form, notice)
        param_errors = {}
        hours = current_app.config.get("QUIET_HOURS")
        if hours:  # say when the quiet hours are, so "urgent" is chosen knowingly
            form.urgent.description = _("Urgent notices are sent during the quiet hours (%(hours)s) too.", hours=hours)
        source = notice
        if request.method == "GET" and notice is None and request.args.get("copy", type=int):
            source = get_notice(request.args.get("copy", type=int))  # a new notice starting from an old one
        if request.method == "GET" and source is not None:
            copying = source is not notice  # a copy takes what it says and whom to, not its old times
            form.process(data={
                "title": source.title, "body": source.body, "category": source.category, "source": source.source,
                "levels": source.audience.get("levels", []), "tags": source.audience.get("tags", []),
                "groups": source.audience.get("groups", []),
                "deputy_ids": source.audience.get("deputy_ids", []), "reply": source.reply_mode,
                "reply_deadline": None if copying else _to_local(source.reply_deadline),
                "scheduled_at": None if copying else _to_local(source.scheduled_at), "urgent": source.urgent,
                "meeting_at": None if copying else _to_local(source.meeting_at),
                "meeting_place": source.meeting_place})
        elif request.method == "GET" and request.args.get("group", "").isdigit():
            form.groups.data = [int(request.args["group"])]  # "compose a notice to this group"
        if form.validate_on_submit():
            actor = current_user._get_current_object()
            try:
                data = _form_data(form, template, params) if template is not None else _form_data(form)
                if template is None:  # a templated notice is checked per deputy when it is submitted
                    workflow.check_before_saving(data, submitting=request.form.get("then") == "submit")
                if notice is None:
                    notice = workflow.create_notice(data, actor)
                else:
                    workflow.update_notice(notice, data, actor)
            except workflow.NoticeInvalid as exc:
                db.session.rollback()
                _show_errors(form, exc.errors)
                param_errors = {k.partition(".")[2] or "": v for k, v in exc.errors.items() if k.startswith("params")}
            except workflow.WorkflowError as exc:
                flash(str(exc), "error")
            else:
                if request.form.get("then") == "submit":
                    return self._run(notice, "submit", edit_on_error=True)
                flash(_("The draft is saved."), "success")
                return redirect(url_for(".show", notice_id=notice.id))
        _chosen_deputies(form)
        if template is not None:
            return self.render("notices/compose.html", form=form, notice=notice, sms_template=template, params=params,
                               param_errors=param_errors, preview_url=url_for(".preview_json"),
                               signature=templates.signature(template.gateway), max_value=templates.MAX_VALUE,
                               sample=dict(rendering.SAMPLE_DEPUTY, code=self._reply_code(notice)),
                               reply_code=self._reply_code(notice) if "code" in template.variables else None)
        return self.render("notices/compose.html", form=form, notice=notice, sms_template=None,
                           preview_url=url_for(".preview_json"), signature=current_app.config.get("SMS_SIGNATURE"),
                           reply_code=notice.reply_code if notice else None)

    @staticmethod
    def _reply_code(notice):
        """The code the preview shows: the notice's own, else the one it would be given now (the
        same the free-text preview shows), never an invented one."""
        if notice is not None and notice.reply_code:
            return str(notice.reply_code)
        return str(workflow.allocate_reply_code())

    @expose("/deputies")
    def deputy_search(self):
        """The compose page's individual-deputy picker: at most SEARCH_LIMIT deputies matching
        ?q= (name, pinyin or number), numbers as the page shows them; 400 for a missing, too
        long or unprintable q."""
        self._need("compose")
        q = request.args.get("q", "").strip()
        if not q or len(q) > SEARCH_MAX_LENGTH or not q.isprintable():
            return jsonify({"errors": {"q": [_("Type part of a name or number, at most %(n)s characters.",
                                                 n=SEARCH_MAX_LENGTH)]}}), 400
        rows, more = search_deputies(q, limit=SEARCH_LIMIT, full_numbers=sees_full_numbers(current_user))
        items = []
        for r in rows:
            phone = shown_phone(r.phone)  # once a deputy: full numbers shown are counted for the audit
            items.append({"id": r.id, "name": r.name, "phone": phone, "label": f"{r.name} {phone}",
                          "note": _("Opted out") if r.opted_out else _("Inactive") if not r.active else ""})
        return jsonify({"items": items, "more": more})

    @expose("/preview", methods=("POST",))
    def preview_json(self):
        self._need("compose")
        data = request.get_json(silent=True) or {}
        body = data.get("body") if isinstance(data.get("body"), str) else ""
        reply = data.get("reply") if data.get("reply") in REPLY_MODES else "none"
        audience = data.get("audience") if isinstance(data.get("audience"), dict) else {}
        deadline = None
        if isinstance(data.get("reply_deadline"), str) and data["reply_deadline"]:
            try:
                deadline = _to_utc(datetime.fromisoformat(data["reply_deadline"]))
            except ValueError:
                deadline = None
        notice = None
        if isinstance(data.get("notice_id"), int):
            notice = get_notice(data["notice_id"])
        return jsonify(preview(body[:5000], reply, audience, deadline, notice))

    @expose("/<int:notice_id>")
    def show(self, notice_id):
        notice = notice_or_404(notice_id)
        groups = db.session.scalars(select(DeputyGroup).where(
            DeputyGroup.id.in_(notice.audience.get("groups") or [])).order_by(DeputyGroup.name)).all()
        # Until its texts are written, the page shows what approving it would send.
        ahead = outgoing(notice, request.args.get("sample", type=int)) if notice.status in BEFORE_DISPATCH else None
        return self.render("notices/show.html", notice=notice, steps=allowed_steps(notice), progress=progress(notice),
                           reject_form=RejectForm(), level_labels=LEVEL_LABELS, audience_groups=groups, outgoing=ahead,
                           reason_labels=REASON_LABELS, gateway_label=gateway_label,
                           parent=followups.root(notice) if notice.parent_id else None,
                           follow_ups=followups.of(notice.id), unreached=_unreached(notice))

    @expose("/<int:notice_id>/progress")
    def progress_json(self, notice_id):
        return jsonify(progress(notice_or_404(notice_id)))

    @expose("/<int:notice_id>/<any(submit, approve, reject, cancel):step>", methods=("POST",))
    def step(self, notice_id, step):
        return self._run(notice_or_404(notice_id), step)

    def _run(self, notice, step, edit_on_error=False):
        actor = current_user._get_current_object()
        done = {"submit": _("Submitted for approval."), "approve": _("Approved."), "reject": _("Rejected."),
                "cancel": _("The notice is cancelled; texts not yet handed to the gateway will not be sent.")}
        try:
            if step == "reject":
                workflow.reject(notice, actor, request.form.get("reason", ""))
            else:
                getattr(workflow, step)(notice, actor)
        except workflow.NotAllowed as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".show", notice_id=notice.id)), 403
        except workflow.WorkflowError as exc:
            flash(str(exc), "error")
        except workflow.NoticeInvalid as exc:
            db.session.rollback()
            for messages in exc.errors.values():
                for message in (messages if isinstance(messages, list) else
                                [m for ms in messages.values() for m in ms]):
                    flash(message, "error")
            if edit_on_error:
                return redirect(url_for(".edit", notice_id=notice.id))
        else:
            flash(done[step], "success")
        return redirect(url_for(".show", notice_id=notice.id))


def waiting_approvals():
    return db.session.scalar(select(func.count()).select_from(Notice).where(Notice.status == PENDING_APPROVAL))


def approval_queue_query(user=None):
    """Notices waiting for approval, oldest first; with `user`, only those they may decide on
    (four eyes: not the ones they wrote or last changed)."""
    query = select(Notice).where(Notice.status == PENDING_APPROVAL).order_by(Notice.submitted_at, Notice.id)
    if user is not None:
        for column in (Notice.created_by_id, Notice.last_edited_by_id):
            query = query.where((column != user.id) | column.is_(None))
    return query


class ApprovalsView(ProtectedView):
    permission = "approve"

    @expose("/")
    def index(self):
        mine = request.args.get("mine") == "1"
        notices = db.session.scalars(approval_queue_query(current_user if mine else None)).all()
        return self.render("notices/queue.html", notices=notices, approval_required=approval_required(), mine=mine)

    @expose("/settings", methods=("POST",))
    def settings(self):
        if not current_user.can("admin"):
            abort(403)
        wanted = request.form.get("approval_required") == "1"
        set_setting("approval_required", wanted, actor=current_user._get_current_object())
        flash(_("Notices now need approval before sending.") if wanted
              else _("Notices are now sent without approval."), "success")
        return redirect(url_for(".index"))


def register(admin):
    admin.app.register_blueprint(assets)
    admin.add_view(NoticesView(name=_l("Notices"), endpoint="notices", url="/notices"))
    admin.add_view(ApprovalsView(name=CountedLabel(_l("Approvals"), waiting_approvals, "approvals-badge", "warning"),
                                 endpoint="approvals", url="/approvals"))
