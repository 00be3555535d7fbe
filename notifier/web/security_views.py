"""The security administrator's pages (三员分立): roles, the security policy, unlocking accounts,
resetting a lost second factor and ending a user's sessions. Nothing here reaches users' other
details, the settings or the gateways (the system administrator's), nor the audit trail (the
audit administrator's)."""
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from notifier.accounts import lockout, sessions, totp
from notifier.accounts.models import ROLE_LABELS, ROLES, User
from notifier.accounts.security_policy import BOUNDS, current_policy, set_policy
from notifier.accounts.service import AccountError, change_role
from notifier.extensions import db
from notifier.web.base import ProtectedView, SecureForm


class RoleForm(SecureForm):
    role = SelectField(_l("Role"), choices=lambda: [(r, ROLE_LABELS[r]) for r in ROLES])


class ActionForm(SecureForm):
    pass


def _bounded(label, field):
    low, high = BOUNDS[field]
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)])


class PolicyForm(SecureForm):
    min_length = _bounded(_l("Shortest password (characters)"), "min_length")
    min_classes = _bounded(_l("Kinds of characters a password needs (of 4)"), "min_classes")
    history = _bounded(_l("Earlier passwords that may not be used again"), "history")
    max_age_days = _bounded(_l("Days before a password must be changed (0: never)"), "max_age_days")
    lockout_attempts = _bounded(_l("Failed logins that lock an account"), "lockout_attempts")
    lockout_minutes = _bounded(_l("Minutes an account stays locked"), "lockout_minutes")


class SecurityView(ProtectedView):
    permission = "security"

    def _user(self):
        return db.session.get(User, request.args.get("id", type=int) or 0)

    @expose("/")
    def index(self):
        users = db.session.execute(db.select(User).order_by(User.username)).scalars().all()
        policy_form = PolicyForm(data=current_policy())
        return self.render("security/index.html", users=users, policy_form=policy_form, action_form=ActionForm(),
                           role_form=RoleForm(), locked=lockout.locked, me=current_user.id)

    @expose("/policy", methods=("POST",))
    def policy(self):
        form = PolicyForm()
        if form.validate_on_submit():
            set_policy({name: field.data for name, field in form._fields.items() if name in BOUNDS},
                       current_user._get_current_object())
            flash(_("The security policy is saved."), "success")
        else:
            for field in form:
                for error in field.errors:
                    flash(f"{field.label.text}: {error}", "error")
        return redirect(url_for(".index"))

    def _act(self, form_class, action):
        user = self._user()
        form = form_class()
        if user is None or not form.validate_on_submit():
            flash(_("Nothing was changed."), "error")
            return redirect(url_for(".index"))
        try:
            message = action(user, form)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(message, "success")
        return redirect(url_for(".index"))

    @expose("/role", methods=("POST",))
    def role(self):
        def do(user, form):
            change_role(user, form.role.data, current_user._get_current_object())
            return _("%(user)s is now: %(role)s.", user=user.username, role=user.role_label)

        return self._act(RoleForm, do)

    @expose("/unlock", methods=("POST",))
    def unlock(self):
        def do(user, form):
            lockout.unlock(user, current_user._get_current_object())
            return _("%(user)s is unlocked.", user=user.username)

        return self._act(ActionForm, do)

    @expose("/reset-two-factor", methods=("POST",))
    def reset_two_factor(self):
        def do(user, form):
            if user.id == current_user.id:
                raise AccountError(_("Ask another security administrator to reset your own second step."))
            totp.reset(user, current_user._get_current_object())
            sessions.end_everywhere(user, actor=current_user._get_current_object())
            return _("%(user)s sets up two-step login again at the next login.", user=user.username)

        return self._act(ActionForm, do)

    @expose("/end-sessions", methods=("POST",))
    def end_sessions(self):
        def do(user, form):
            if user.id == current_user.id:
                raise AccountError(_("Use “Log out on every browser” in your own menu."))
            sessions.end_everywhere(user, actor=current_user._get_current_object())
            return _("Every session of %(user)s has ended.", user=user.username)

        return self._act(ActionForm, do)


def register(admin):
    admin.add_view(SecurityView(name=_l("Security"), endpoint="security", url="/security"))
