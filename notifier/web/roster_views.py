"""Roster pages: the deputy list with search and filters, create/edit, opt-out, import and export.

Validation and saving go through notifier.roster.service, so the page, the API and the importer
accept and refuse exactly the same things, and every change leaves an audit event.
"""
import phonenumbers
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, BooleanEqualFilter, FilterLike
from flask_admin.form import Select2TagsField, Select2Widget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from notifier.audit.service import record
from notifier.extensions import db
from notifier.reports.masking import sees_full_numbers
from notifier.roster.levels import level_label
from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS, Deputy, DeputyGroup, Level, Tag
from notifier.roster.service import (
    DeputyInvalid,
    create_deputy,
    deputy_fields,
    deputy_query,
    set_opted_out,
    update_deputy,
)
from notifier.web.base import ProtectedModelView, SecureForm
from notifier.web.common import (
    TYPE_FORMATTERS,
    FreshFilterOptionsMixin,
    db_options,
    download,
    join_list,
    number_mask,
)

FORM_FIELDS = ("name", "phone", "levels", "constituency", "organisation", "title", "tags", "groups", "stations", "active")


def display_phone(e164):
    """"+8613800138000" -> "138 0013 8000" at home, "+44 7700 900123" for a foreign number."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = current_app.config.get("DEFAULT_REGION", "CN")
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def shown_phone(e164):
    """The number as the list shows it to this user: formatted, or masked for masked roles."""
    mask = number_mask()
    return mask(e164) if mask(e164) != e164 else display_phone(e164)


# --- filters over the many-to-many levels and tags (EXISTS subqueries, so no duplicate rows) -----


class LevelFilter(BaseSQLAFilter):
    def __init__(self, name):
        super().__init__(Deputy.id, name, options=lambda: [(code, LEVEL_LABELS[code]) for code in LEVEL_CODES])

    def validate(self, value):
        return value in LEVEL_CODES

    def apply(self, query, value, alias=None):
        return query.filter(Deputy.levels.any(Level.code == value))

    def operation(self):
        return _l("is")


class NoLevelFilter(BaseSQLAFilter):
    """Deputies whose level is not filled in yet: worth finding after an import."""

    def __init__(self, name):
        super().__init__(Deputy.id, name, options=(("1", _l("Yes")), ("0", _l("No"))))

    def apply(self, query, value, alias=None):
        condition = ~Deputy.levels.any()
        return query.filter(condition if value == "1" else ~condition)

    def operation(self):
        return _l("missing")


class TagFilter(BaseSQLAFilter):
    def __init__(self, name):
        super().__init__(Deputy.id, name, options=db_options(self._tag_options))

    @staticmethod
    def _tag_options():
        return [(name, name) for name in db.session.scalars(db.select(Tag.name).order_by(Tag.name))]

    def apply(self, query, value, alias=None):
        return query.filter(Deputy.tags.any(Tag.name == value))

    def operation(self):
        return _l("is")


class GroupFilter(BaseSQLAFilter):
    """Members of one deputy group, delegation or liaison station."""

    def __init__(self, name):
        super().__init__(Deputy.id, name, options=db_options(self._group_options))

    @staticmethod
    def _group_options():
        return [(str(g.id), g.name) for g in db.session.scalars(db.select(DeputyGroup).order_by(DeputyGroup.name))]

    def validate(self, value):
        return value.isdigit()

    def apply(self, query, value, alias=None):
        return query.filter(Deputy.groups.any(DeputyGroup.id == int(value)))

    def operation(self):
        return _l("is")


# The home page links to the list filtered by level: the level filter is first, so it is flt0_0.
LEVEL_FILTER_INDEX = 0


ACTIVE_FILTER_INDEX = 3
NO_LEVEL_FILTER_INDEX, TAG_FILTER_INDEX, GROUP_FILTER_INDEX = 1, 2, 7


def level_list_url(code, active=None):
    """The roster filtered by level (and by active, when given)."""
    args = {f"flt0_{LEVEL_FILTER_INDEX}": code}
    if active is not None:
        args[f"flt1_{ACTIVE_FILTER_INDEX}"] = "1" if active else "0"
    return url_for("deputies.index_view", **args)


# --- forms ------------------------------------------------------------------------------------


def _level_choices():
    return [(code, LEVEL_LABELS[code]) for code in LEVEL_CODES]


class DeputyForm(SecureForm):
    name = StringField(_l("Name"), validators=[DataRequired()])
    phone = StringField(
        _l("Mobile number"),
        validators=[DataRequired()],
        description=_l("A mainland mobile number such as 138 0013 8000, or +country code for another country."),
    )
    # validate_choice=False: the service says what is wrong with a level, in the user's language.
    levels = SelectMultipleField(
        _l("Levels"), choices=_level_choices, validate_choice=False, widget=Select2Widget(multiple=True)
    )
    constituency = StringField(_l("Constituency / delegation"))
    organisation = StringField(_l("Organisation"))
    title = StringField(_l("Title"))
    tags = Select2TagsField(_l("Tags"), description=_l("Several tags separated by commas."))
    groups = Select2TagsField(_l("Deputy groups"), description=_l(
        "Deputy groups or delegations (代表小组, 代表团), separated by commas."))
    stations = Select2TagsField(_l("Liaison stations"), description=_l("Liaison stations (联络站), separated by commas."))
    active = BooleanField(_l("Active"), default=True, description=_l("Inactive deputies receive no texts."))


class OptOutForm(SecureForm):
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=50)],
        description=_l("How the deputy asked, e.g. by telephone on 3 May."),
    )


def _form_data(form):
    """The form's deputy fields; without the phone when the user only sees it masked (the field
    shows the masked number, read-only, and whatever comes back in it is ignored)."""
    hidden = getattr(form, "phone_masked", False)
    return {name: form[name].data for name in FORM_FIELDS if not (hidden and name == "phone")}


def _show_errors(form, errors):
    for field, messages in errors.items():
        target = form[field] if field in form else None
        if target is None:
            for message in messages:
                flash(message, "error")
            continue
        target.errors = list(target.errors) + list(messages)


# --- the list ---------------------------------------------------------------------------------


def _levels_column(view, context, model, name):
    return join_list(level_label(code) for code in model.level_codes)


def _tags_column(view, context, model, name):
    return Markup(" ").join(Markup('<span class="badge badge-info">{}</span>').format(t) for t in model.tag_names)


def _groups_column(view, context, model, name):
    return Markup(" ").join(
        Markup('<a class="badge badge-light border" href="{}">{}</a>').format(url_for("groups.show", group_id=g.id), g.name)
        for g in model.groups)


def _opted_out_column(view, context, model, name):
    if not model.opted_out:
        return TYPE_FORMATTERS[bool](view, False)
    return Markup('<span class="badge badge-warning" title="{}">{}</span>').format(
        model.opted_out_via or "", _("Opted out")
    )


class DeputyView(FreshFilterOptionsMixin, ProtectedModelView):
    edit_permission = "edit_roster"
    list_template = "admin/deputies/list.html"
    edit_template = "admin/deputies/edit.html"
    column_list = ("name", "phone", "levels", "constituency", "organisation", "title", "tags", "groups", "active",
                   "opted_out")
    column_labels = {
        "name": _l("Name"),
        "phone": _l("Mobile number"),
        "levels": _l("Levels"),
        "constituency": _l("Constituency / delegation"),
        "organisation": _l("Organisation"),
        "title": _l("Title"),
        "tags": _l("Tags"),
        "groups": _l("Groups"),
        "active": _l("Active"),
        "opted_out": _l("Opted out"),
    }
    # By pinyin: 李 before 王 before 张, as a Chinese reader looks a name up.
    column_sortable_list = (("name", Deputy.name_sort), "phone", "constituency", "organisation", "title", "active", "opted_out")
    column_default_sort = [(Deputy.name_sort, False), ("id", False)]
    # Search is the domain's own (name, organisation, part of the number); see _apply_search.
    column_searchable_list = ("name", "phone", "organisation")
    column_filters = (
        LevelFilter(_l("Level")),  # keep first: LEVEL_FILTER_INDEX
        NoLevelFilter(_l("Level")),
        TagFilter(_l("Tag")),
        # keep fourth: ACTIVE_FILTER_INDEX
        BooleanEqualFilter(Deputy.active, _l("Active"), options=(("1", _l("Yes")), ("0", _l("No")))),
        BooleanEqualFilter(Deputy.opted_out, _l("Opted out"), options=(("1", _l("Yes")), ("0", _l("No")))),
        FilterLike(Deputy.constituency, _l("Constituency / delegation")),
        FilterLike(Deputy.organisation, _l("Organisation")),
        GroupFilter(_l("Group")),  # GROUP_FILTER_INDEX
    )
    column_formatters = {
        "phone": lambda v, c, m, n: shown_phone(m.phone),
        "levels": _levels_column,
        "tags": _tags_column,
        "groups": _groups_column,
        "opted_out": _opted_out_column,
    }
    column_type_formatters = TYPE_FORMATTERS
    # Levels and tags load with "selectin" (model default): no joined eager loads, so the
    # list query is a plain Select of deputies that the exporter can run too.
    column_auto_select_related = False
    form = DeputyForm

    # The filters as four plain controls above the list (roster_filters) instead of Flask-Admin's
    # add-a-filter menu; they still become flt arguments, so links, export and paging keep working.

    def render(self, template, **kwargs):
        if template == self.list_template and "active_filters" in kwargs:
            kwargs["roster_filters"] = self._plain_filters(kwargs["active_filters"])
            kwargs["filters"] = None
        return super().render(template, **kwargs)

    def _plain_filters(self, active):
        chosen = {idx: value for idx, _name, value in active}
        level = "none" if chosen.get(NO_LEVEL_FILTER_INDEX) == "1" else chosen.get(LEVEL_FILTER_INDEX, "")
        return {
            "level": level, "tag": chosen.get(TAG_FILTER_INDEX, ""), "group": chosen.get(GROUP_FILTER_INDEX, ""),
            "active": chosen.get(ACTIVE_FILTER_INDEX, ""),
            "levels": _level_choices(),
            "tags": TagFilter._tag_options(),
            "groups": GroupFilter._group_options(),
            "others": {f"flt{pos}_{idx}": value for pos, (idx, _name, value) in enumerate(active)
                       if idx not in (LEVEL_FILTER_INDEX, NO_LEVEL_FILTER_INDEX, TAG_FILTER_INDEX,
                                      GROUP_FILTER_INDEX, ACTIVE_FILTER_INDEX)},
        }

    @expose("/filter/")
    def filter_view(self):
        """The plain controls' GET form lands here and goes on to the list with flt arguments
        (controls left at "all" add nothing)."""
        args = {k: v for k, v in request.args.items() if k.startswith("flt") or k in ("search", "sort", "desc")}
        args = {k: v for k, v in args.items() if v}
        level, tag = request.args.get("level", ""), request.args.get("tag", "")
        group, active = request.args.get("group", ""), request.args.get("active", "")
        if level == "none":
            args[f"flt90_{NO_LEVEL_FILTER_INDEX}"] = "1"
        elif level in LEVEL_CODES:
            args[f"flt91_{LEVEL_FILTER_INDEX}"] = level
        if tag:
            args[f"flt92_{TAG_FILTER_INDEX}"] = tag
        if group.isdigit():
            args[f"flt93_{GROUP_FILTER_INDEX}"] = group
        if active in ("0", "1"):
            args[f"flt94_{ACTIVE_FILTER_INDEX}"] = active
        return redirect(url_for(".index_view", **args))

    def search_placeholder(self):
        return _("Name, number or organisation")

    def _apply_search(self, query, count_query, joins, count_joins, search):
        condition = deputy_query(q=search).whereclause
        if condition is None:
            return query, count_query, joins, count_joins
        query = query.filter(condition)
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    # Create and edit: the service validates, saves, audits.

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None:
            form.levels.data = obj.level_codes
            form.tags.data = ", ".join(obj.tag_names)
            form.groups.data = ", ".join(obj.group_names)
            form.stations.data = ", ".join(obj.station_names)
        if obj is not None and not sees_full_numbers(current_user):
            form.phone_masked = True
            form.phone.data = number_mask()(obj.phone)
            form.phone.render_kw = {"readonly": True}
            form.phone.description = _l("Only roles that see full numbers may change a number.")
        return form

    def validate_form(self, form):
        if not super().validate_form(form):
            return False
        if not isinstance(form, DeputyForm):  # the action and delete forms carry no deputy
            return True
        try:
            deputy_fields(_form_data(form), partial=getattr(form, "phone_masked", False))
        except DeputyInvalid as exc:
            _show_errors(form, exc.errors)
            return False
        return True

    def create_model(self, form):
        try:
            return create_deputy(_form_data(form), actor=current_user._get_current_object())
        except DeputyInvalid as exc:
            db.session.rollback()
            _show_errors(form, exc.errors)
            flash(_("The deputy was not saved: please correct the marked fields."), "error")
            return False

    def update_model(self, form, model):
        try:
            update_deputy(model, _form_data(form), actor=current_user._get_current_object())
        except DeputyInvalid as exc:
            db.session.rollback()
            _show_errors(form, exc.errors)
            flash(_("The deputy was not saved: please correct the marked fields."), "error")
            return False
        return True

    # Nothing is deleted: deputies leave the roster by being deactivated (history stays intact).

    def _set_active(self, ids, active):
        deputies = db.session.scalars(db.select(Deputy).where(Deputy.id.in_([int(i) for i in ids]))).all()
        changed = 0
        for deputy in deputies:
            if deputy.active != active:
                update_deputy(deputy, {"active": active}, actor=current_user._get_current_object())
                changed += 1
        return changed

    @action("deactivate", _l("Deactivate"), _l("Deactivate the selected deputies? They will receive no texts."))
    def action_deactivate(self, ids):
        count = self._set_active(ids, False)
        flash(ngettext("%(num)d deputy deactivated.", "%(num)d deputies deactivated.", count), "success")

    @action("activate", _l("Activate"))
    def action_activate(self, ids):
        count = self._set_active(ids, True)
        flash(ngettext("%(num)d deputy activated.", "%(num)d deputies activated.", count), "success")

    def is_action_allowed(self, name):
        return self.can_edit and super().is_action_allowed(name)

    # Opt-out: anyone who edits the roster may record a deputy's request to stop; only an
    # administrator may start texting them again, and both need a reason that is kept.

    @expose("/opt-out/", methods=("GET", "POST"))
    def opt_out_view(self):
        deputy = db.session.get(Deputy, request.args.get("id", type=int) or 0)
        if deputy is None:
            flash(_("No such deputy."), "error")
            return redirect(url_for(".index_view"))
        clearing = deputy.opted_out
        if not self.can_edit or (clearing and not current_user.can("admin")):
            abort(403)
        form = OptOutForm()
        if form.validate_on_submit():
            reason = form.reason.data.strip()
            set_opted_out(deputy, not clearing, f"admin: {reason}", actor=current_user._get_current_object())
            if clearing:
                flash(_("%(name)s will receive texts again.", name=deputy.name), "success")
            else:
                flash(_("%(name)s will receive no more texts.", name=deputy.name), "success")
            return redirect(url_for(".edit_view", id=deputy.id))
        return self.render("admin/deputies/opt_out.html", form=form, deputy=deputy, clearing=clearing)

    # Export: the rows the list shows (search and filters applied), as xlsx or csv.

    @expose("/download/<fmt>/")
    def export_view(self, fmt):
        """The rows the list shows. CSV streams straight from the database a batch at a time; a
        large XLSX is made by a worker (the page that follows shows its progress, then the file)."""
        from flask import Response, stream_with_context
        from flask_babel import get_locale

        from notifier.jobs import service as jobs
        from notifier.roster.exporter import (
            CSV_MIME,
            csv_chunks,
            export_filename,
            export_roster,
            roster_rows,
        )

        if fmt not in ("xlsx", "csv"):
            abort(404)
        view_args = self._get_list_extra_args()
        filters = view_args.filters
        _count, query = self.get_list(0, None, False, view_args.search, filters, execute=False, page_size=0)
        statement = query.statement
        actor = current_user._get_current_object()
        detail = {"format": fmt, "search": view_args.search or "", "filtered": bool(filters)}
        if fmt == "csv":
            record("roster.export", actor=actor, **detail)
            db.session.commit()  # on record before the first byte goes out
            response = Response(stream_with_context(csv_chunks(roster_rows(statement, number_mask()))),
                                mimetype=CSV_MIME)
            response.headers["Content-Disposition"] = f"attachment; filename={export_filename('csv')}"
            response.headers["Cache-Control"] = "no-store"  # personal phone numbers
            return response
        ids = list(db.session.scalars(statement.with_only_columns(Deputy.id)))
        if len(ids) > current_app.config["ROSTER_EXPORT_JOB_ROWS"]:
            name = export_filename("xlsx")
            job = jobs.create("roster.export", actor, {"ids": ids, "format": fmt, "file_name": name}, total=len(ids),
                              locale=get_locale())
            record("roster.export", actor=actor, job_id=job.id, rows=len(ids), **detail)
            db.session.commit()
            return redirect(url_for("jobs.show", job_id=job.id))
        data, mimetype, filename = export_roster(fmt, query=statement, mask=number_mask())
        record("roster.export", actor=actor, **detail)
        db.session.commit()
        return download(data, mimetype, filename)


def register(admin):
    from notifier.web.import_views import RosterImportView  # imports this module

    admin.add_view(DeputyView(Deputy, db, name=_l("Deputies"), endpoint="deputies", url="deputies"))
    admin.add_view(RosterImportView(name=_l("Import"), endpoint="roster_import", url="roster/import"))
