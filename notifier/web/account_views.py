"""Admin pages for staff accounts, API tokens and the audit trail (administrators only)."""

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, FilterLike
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from notifier.accounts import sessions
from notifier.accounts.models import ROLE_LABELS, ROLES, ApiToken, User
from notifier.accounts.service import (
    MIN_PASSWORD,
    AccountError,
    change_password,
    create_user,
    find_user,
    issue_token,
    reset_password,
    revoke_token,
)
from notifier.audit.labels import action_label, detail_items, target_label
from notifier.audit.models import AuditEvent
from notifier.audit.service import record
from notifier.extensions import db
from notifier.web.base import ProtectedModelView, ProtectedView, SecureForm
from notifier.web.common import (
    TYPE_FORMATTERS,
    FreshFilterOptionsMixin,
    LocalDateFrom,
    LocalDateOn,
    LocalDateUntil,
    db_options,
)

# The roles the system administrator gives when creating a user; every other role change is the
# security administrator's (三员分立), as are the accounts of the security and audit duties.
STAFF_ROLES = ("viewer", "composer", "approver")
DUTY_ROLES = ("security_admin", "auditor")


def _role_choices():
    return [(role, ROLE_LABELS[role]) for role in ROLES]


def _staff_role_choices():
    return [(role, ROLE_LABELS[role]) for role in STAFF_ROLES]


class CreateUserForm(SecureForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[\w.@-]+$", message=_l("Use letters, digits and . _ - @ only.")),
        ],
    )
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("Role"), choices=_staff_role_choices, default="viewer",
                       description=_l("Other roles are given by the security administrator."))
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=256, message=_l("At least %(min)d characters.", min=MIN_PASSWORD))],
    )


class EditUserForm(SecureForm):
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=64)])
    active = BooleanField(_l("Active"))
    new_password = PasswordField(
        _l("New password"),
        description=_l("Leave empty to keep the current password."),
        validators=[Optional(), Length(min=MIN_PASSWORD, max=256, message=_l("At least %(min)d characters.", min=MIN_PASSWORD))],
    )


def _actor():
    return current_user._get_current_object()


def _language(view, context, model, name):
    # No choice yet means the site default.
    code = model.locale or current_app.config["DEFAULT_LOCALE"]
    return current_app.config["LANGUAGES"].get(code, code)


class UserView(ProtectedModelView):
    permission = "admin"
    edit_permission = "admin"
    column_list = ("username", "display_name", "role", "active", "locale", "created_at", "last_login_at")
    column_labels = {
        "username": _l("Username"),
        "display_name": _l("Display name"),
        "role": _l("Role"),
        "active": _l("Active"),
        "locale": _l("Language"),
        "created_at": _l("Created"),
        "last_login_at": _l("Last login"),
    }
    column_searchable_list = ("username", "display_name")
    column_filters = (
        FilterEqual(User.role, _l("Role"), options=_role_choices),
        BooleanEqualFilter(User.active, _l("Active"), options=(("1", _l("Yes")), ("0", _l("No")))),
    )
    column_formatters = {"role": lambda v, c, m, n: m.role_label, "locale": _language}
    column_type_formatters = TYPE_FORMATTERS
    column_default_sort = "username"

    def get_create_form(self):
        return CreateUserForm

    def get_edit_form(self):
        return EditUserForm

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok:
            return False
        if isinstance(form, CreateUserForm) and find_user(form.username.data.strip()):
            form.username.errors.append(_("This username is already taken."))
            return False
        if isinstance(form, EditUserForm):
            user_id = request.args.get("id", type=int)
            if user_id == current_user.id and not form.active.data:
                # Locking oneself out would leave nobody to undo it.
                form.active.errors.append(_("You cannot deactivate your own account."))
                return False
        return True

    def _handle_view(self, name, **kwargs):
        # The accounts of the security and audit duties are not the system administrator's to
        # change: resetting the auditor's password would let them read the trail as the auditor.
        if name == "edit_view" and self.is_accessible():
            user = db.session.get(User, request.args.get("id", type=int) or 0)
            if user is not None and user.role in DUTY_ROLES:
                abort(403)
        return super()._handle_view(name, **kwargs)

    def create_model(self, form):
        try:
            user, _password = create_user(
                form.username.data.strip(),
                form.role.data,
                password=form.password.data,
                display_name=(form.display_name.data or "").strip(),
                actor=_actor(),
                must_change=True,  # the administrator knows this password: the user replaces it
            )
        except AccountError as exc:
            db.session.rollback()
            (form.password if exc.field == "password" else form.username).errors.append(str(exc))
            return False
        return user

    def update_model(self, form, model):
        changes = {}
        display_name = (form.display_name.data or "").strip() or model.username
        for field, value in (("display_name", display_name), ("active", bool(form.active.data))):
            if getattr(model, field) != value:
                changes[field] = [getattr(model, field), value]
                setattr(model, field, value)
        if form.new_password.data:
            try:
                reset_password(model, form.new_password.data, _actor())  # ends the user's sessions
            except AccountError as exc:
                db.session.rollback()
                form.new_password.errors.append(str(exc))
                return False
            changes["password"] = "reset"  # never the password itself
        if changes:
            record("user.update", target=model, actor=_actor(), username=model.username, changes=changes)
            db.session.commit()
        return True


class IssueTokenForm(SecureForm):
    user_id = SelectField(_l("User"), coerce=int, validators=[DataRequired()])
    name = StringField(
        _l("Token name"),
        description=_l("What the token is for, e.g. the system that uses it."),
        validators=[Optional(), Length(max=64)],
    )


class RevokeTokenForm(SecureForm):
    pass


def _revoke_link(view, context, model, name):
    if model.revoked:
        return Markup('<span class="badge badge-secondary">{}</span> {}').format(
            _("Revoked"), TYPE_FORMATTERS[type(model.revoked_at)](view, model.revoked_at)
        )
    url = url_for(".revoke_view", id=model.id)
    return Markup('<a class="btn btn-sm btn-outline-danger" href="{}">{}</a>').format(url, _("Revoke"))


class TokenView(ProtectedModelView):
    permission = "admin"
    edit_permission = "admin"
    can_create = False
    can_edit = False
    list_template = "admin/tokens/list.html"
    column_list = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    column_labels = {
        "user": _l("Owner"),
        "name": _l("Token name"),
        "prefix": _l("Prefix"),
        "created_at": _l("Created"),
        "last_used_at": _l("Last used"),
        "revoked_at": _l("Revoked"),
    }
    column_sortable_list = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    column_formatters = {"revoked_at": _revoke_link}
    column_type_formatters = TYPE_FORMATTERS
    column_default_sort = ("created_at", True)

    @expose("/issue/", methods=("GET", "POST"))
    def issue_view(self):
        form = IssueTokenForm()
        users = db.session.execute(db.select(User).where(User.active.is_(True)).order_by(User.username)).scalars()
        form.user_id.choices = [(u.id, f"{u.username} ({u.role_label})") for u in users]
        if form.validate_on_submit():
            owner = db.session.get(User, form.user_id.data)
            row, plaintext = issue_token(owner, name=(form.name.data or "").strip(), actor=_actor())
            response = make_response(self.render("admin/tokens/issued.html", token=row, plaintext=plaintext))
            # The plaintext is shown exactly once: keep it out of every cache.
            response.headers["Cache-Control"] = "no-store"
            return response
        return self.render("admin/tokens/issue.html", form=form)

    @expose("/revoke/", methods=("GET", "POST"))
    def revoke_view(self):
        row = db.session.get(ApiToken, request.args.get("id", type=int) or 0)
        if row is None:
            flash(_("No such token."), "error")
            return redirect(url_for(".index_view"))
        form = RevokeTokenForm()
        if form.validate_on_submit():
            revoke_token(row, actor=_actor())
            flash(_("Token %(prefix)s… of %(user)s has been revoked.", prefix=row.prefix, user=row.user.username), "success")
            return redirect(url_for(".index_view"))
        return self.render("admin/tokens/revoke.html", form=form, token=row)


def _detail(view, context, model, name):
    """The details as a short list of words, not JSON."""
    items = detail_items(model.detail)
    if not items:
        return ""
    rows = Markup("").join(Markup("<li><span class=\"text-muted\">{}</span> {}</li>").format(
        f"{label}:" if label else "", value) for label, value in items)
    return Markup("<ul class=\"list-unstyled small mb-0 audit-detail\">{}</ul>").format(rows)


def _actor_name(view, context, model, name):
    """People by their display name (the login name on hover); the platform as "System"."""
    if model.actor == "system" and not model.user_id:
        return _l("System")
    user = db.session.get(User, model.user_id) if model.user_id else None
    if user is None:
        return model.actor
    return Markup('<span title="{}">{}</span>').format(user.username, str(user))


def _target(view, context, model, name):
    return target_label(model.target_type, model.target_id)


def _action(view, context, model, name):
    # The readable label, with the code kept for scripts and for the "contains" filter.
    return Markup('<span data-action="{}" title="{}">{}</span>').format(model.action, model.action, action_label(model.action))


def _action_options():
    rows = db.session.execute(db.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).scalars()
    return [(a, action_label(a)) for a in rows]


def _actor_options():
    rows = db.session.execute(db.select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)).scalars()
    return [(a, action_label(a)) for a in rows]


class AuditView(FreshFilterOptionsMixin, ProtectedModelView):
    # The audit administrator's alone; nobody edits or deletes a row (the database refuses too).
    permission = "audit"
    edit_permission = "audit"
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("at", "actor", "action", "target", "detail", "ip")
    column_labels = {
        "at": _l("Time"),
        "actor": _l("Actor"),
        "action": _l("Action"),
        "target": _l("Target"),
        "detail": _l("Detail"),
        "ip": _l("IP address"),
    }
    column_sortable_list = ("at", "actor", "action")
    column_default_sort = [("at", True), ("id", True)]
    column_formatters = {"detail": _detail, "target": _target, "action": _action, "actor": _actor_name}
    column_type_formatters = TYPE_FORMATTERS
    column_filters = (
        FilterEqual(AuditEvent.actor, _l("Actor"), options=db_options(_actor_options)),
        FilterLike(AuditEvent.actor, _l("Actor")),
        FilterEqual(AuditEvent.action, _l("Action"), options=db_options(_action_options)),
        FilterLike(AuditEvent.action, _l("Action")),
        LocalDateOn(AuditEvent.at, _l("Date")),
        LocalDateFrom(AuditEvent.at, _l("Date")),
        LocalDateUntil(AuditEvent.at, _l("Date")),
    )


class PasswordForm(SecureForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=256, message=_l("At least %(min)d characters.", min=MIN_PASSWORD))],
    )
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))])


class AccountView(ProtectedView):
    """The user's own account: a new password (which logs them out on their other browsers)."""

    permission = "account"

    def is_visible(self):
        return False  # reached from the user menu

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = PasswordForm()
        if form.validate_on_submit():
            user = _actor()
            try:
                change_password(user, form.current_password.data, form.new_password.data)
            except AccountError as exc:
                db.session.rollback()
                form[exc.field or "current_password"].errors = [str(exc)]
            else:
                sessions.renew(user)
                flash(_("Your password is changed. You were logged out on your other browsers."), "success")
                return redirect(url_for("admin.index"))
        from notifier.accounts.passwords import policy

        return self.render("admin/account/password.html", form=form, policy=policy())


class TwoFactorForm(SecureForm):
    pass


class TwoFactorView(ProtectedView):
    """The user's second factor: required for some roles, a choice for the others."""

    permission = "account"

    def is_visible(self):
        return False  # reached from the user menu

    @expose("/", methods=("GET", "POST"))
    def index(self):
        from notifier.accounts.models import TOTP_ROLES
        from notifier.accounts.views import begin_second_factor

        user = _actor()
        form = TwoFactorForm()
        if form.validate_on_submit() and not user.totp_enrolled:
            # Turning it on goes through the same enrolment page as a first login.
            return begin_second_factor(user, remember=False, next_url=url_for(".index"))
        return self.render("admin/account/two_factor.html", form=form, user=user,
                           required=user.role in TOTP_ROLES)


def register(admin):
    admin.add_view(AccountView(name=_l("Change password"), endpoint="account", url="/account/password"))
    admin.add_view(TwoFactorView(name=_l("Two-step login"), endpoint="account_2fa", url="/account/two-factor"))
    category = _l("Administration")
    admin.add_view(UserView(User, db, name=_l("Users"), endpoint="users", url="users", category=category))
    admin.add_view(TokenView(ApiToken, db, name=_l("API tokens"), endpoint="tokens", url="tokens", category=category))
    admin.add_view(AuditView(AuditEvent, db, name=_l("Audit trail"), endpoint="audit", url="audit", category=category))
