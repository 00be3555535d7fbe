"""Access rules shared by every page: login first, then the role the page needs."""
from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from flask_login import current_user
from flask_wtf import FlaskForm


class SecureForm(FlaskForm, BaseForm):
    """Flask-Admin forms on Flask-WTF, so the global CSRF protection covers them."""


class ProtectedMixin:
    # The permission (see accounts.models.PERMISSIONS) needed to see the page.
    permission = "view"

    def is_accessible(self):
        return current_user.is_authenticated and current_user.can(self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class ProtectedView(ProtectedMixin, BaseView):
    pass


class ProtectedModelView(ProtectedMixin, ModelView):
    form_base_class = SecureForm
    page_size = 50
    can_set_page_size = True
    # Edits need a stronger permission than looking.
    edit_permission = "admin"

    @property
    def can_create(self):
        return current_user.is_authenticated and current_user.can(self.edit_permission)

    @property
    def can_edit(self):
        return self.can_create

    can_delete = False  # nothing is deleted from the UI; deputies are deactivated instead

    # Flask-Admin answers a forbidden create/edit with a silent redirect; a role that may only
    # look gets a plain 403 instead, so a hand-made POST cannot be mistaken for success.
    edit_endpoints = {
        "create_view": "can_create",
        "edit_view": "can_edit",
        "ajax_update": "can_edit",
        "action_view": "can_edit",
        "delete_view": "can_delete",
    }

    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is None and name in self.edit_endpoints and not getattr(self, self.edit_endpoints[name]):
            abort(403)
        return response


# Where the administrator duties that do no office work land after login.
DUTY_HOMES = {"security": "security.index", "audit": "audit.index_view"}


class HomeView(ProtectedMixin, AdminIndexView):
    permission = "account"

    @expose("/")
    def index(self):
        from notifier.web.home import roster_overview, work_items

        if not current_user.can("view"):
            for permission, endpoint in DUTY_HOMES.items():
                if current_user.can(permission):
                    return redirect(url_for(endpoint))
            abort(403)
        return self.render("admin/home.html", overview=roster_overview(), work=work_items(current_user))
