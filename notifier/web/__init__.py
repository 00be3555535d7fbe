"""Server-rendered pages: Flask-Admin 2 (Bootstrap 4) mounted at the site root."""
from flask import Blueprint
from flask_admin import Admin
from flask_admin import babel as admin_babel
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from notifier.catalogues import ADMIN_CATALOGUES, catalogue_directory
from notifier.web.base import HomeView


def init_web(app):
    # Our templates (notifier/web/templates) ahead of Flask-Admin's own.
    app.register_blueprint(Blueprint("web", __name__, template_folder="templates"))
    admin = Admin(
        app,
        name=_l("Deputy SMS Platform"),
        url="/",
        index_view=HomeView(name=_l("Home"), url="/", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="admin/notifier_master.html", swatch="default", fluid=True),
        static_url_path="/_admin",
        # Fills gaps in Flask-Admin's compiled Chinese catalogue and corrects a few (see the .po there).
        translations_path=catalogue_directory(ADMIN_CATALOGUES, "admin"),
    )
    _let_our_admin_catalogue_win()
    from notifier.web.views import register_views

    register_views(admin)
    from notifier.web.errors import register_error_pages

    register_error_pages(app)
    return admin


class _OurAdminCatalogueLast(type(admin_babel.domain)):
    """Flask-Babel merges a domain's catalogues in order, the later one winning, and Flask-Admin
    lists ours first: ours could add strings but never correct one (its "items" reads "项目",
    "projects"). Listing ours last lets it do both."""

    @property
    def translation_directories(self):
        directories = super().translation_directories
        return directories[1:] + directories[:1]


def _let_our_admin_catalogue_win():
    if type(admin_babel.domain) is not _OurAdminCatalogueLast:
        admin_babel.domain.__class__ = _OurAdminCatalogueLast
