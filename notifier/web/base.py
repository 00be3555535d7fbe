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


class HomeView(ProtectedMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/home.html")
