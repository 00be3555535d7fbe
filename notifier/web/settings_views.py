"""One settings page for administrators: every setting with its value and where it comes from;
the run-time switches are changed here. Thin over notifier.settings_overview."""
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from notifier import settings_overview
from notifier.web.base import ProtectedView

SOURCE_LABELS = {settings_overview.ENVIRONMENT: _l("Environment"), settings_overview.PAGE: _l("This page"),
                 settings_overview.DEFAULT: _l("Default")}


class SettingsView(ProtectedView):
    permission = "admin"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "POST":
            try:
                settings_overview.change(request.form.get("key", ""), request.form.get("value") == "1",
                                         current_user._get_current_object())
            except KeyError:
                abort(400)
            flash(_("Setting saved."), "success")
            return redirect(url_for(".index"))
        return self.render("admin/settings.html", items=settings_overview.overview(), sources=SOURCE_LABELS)


def register(admin):
    admin.add_view(SettingsView(name=_l("Settings"), endpoint="settings", url="/settings",
                                category=_l("Administration")))
