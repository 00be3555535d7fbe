"""One settings page for administrators: every setting with its value and where it comes from;
the run-time switches are changed here. Thin over notifier.settings_overview."""
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from notifier import settings_overview
from notifier.accounts.models import ROLE_LABELS, ROLES
from notifier.web.base import ProtectedView

SOURCE_LABELS = {settings_overview.ENVIRONMENT: _l("Environment"), settings_overview.PAGE: _l("This page"),
                 settings_overview.DEFAULT: _l("Default")}


class SettingsView(ProtectedView):
    permission = "admin"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "POST":
            key, actor = request.form.get("key", ""), current_user._get_current_object()
            try:
                if key == "auto_remind_hours":
                    settings_overview.change_remind_hours(request.form.get("value"), actor)
                elif key == "masking":
                    settings_overview.change_masking(request.form.getlist("mask"), actor)
                else:
                    settings_overview.change(key, request.form.get("value") == "1", actor)
            except KeyError:
                abort(400)
            except ValueError:
                flash(_("Hours before the deadline must be a number between 0 and 720, or empty."), "error")
                return redirect(url_for(".index"))
            flash(_("Setting saved."), "success")
            return redirect(url_for(".index"))
        return self.render("admin/settings.html", items=settings_overview.overview(), sources=SOURCE_LABELS,
                           roles=[(r, ROLE_LABELS[r]) for r in ROLES if r != "admin"])


def register(admin):
    admin.add_view(SettingsView(name=_l("Settings"), endpoint="settings", url="/settings",
                                category=_l("Administration")))
