"""Roster pages: the deputy list with search and filters, create/edit, import and export."""
from flask_babel import lazy_gettext as _l

from notifier.extensions import db
from notifier.roster.models import Deputy
from notifier.web.base import ProtectedModelView


class DeputyView(ProtectedModelView):
    edit_permission = "edit_roster"
    column_list = ("name", "phone", "levels", "constituency", "organisation", "title", "tags", "active", "opted_out")
    column_searchable_list = ("name", "phone", "organisation")


def register(admin):
    admin.add_view(DeputyView(Deputy, db.session, name=_l("Deputies"), endpoint="deputies", url="deputies"))
