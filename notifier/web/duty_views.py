"""Duty-work pages (issue 13): groups and their members. Thin views over notifier.roster.groups
and notifier.duty."""
from flask import abort, request
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from notifier.roster.groups import get_group, groups_with_counts, members
from notifier.roster.models import GROUP_KIND_LABELS, GROUP_KINDS
from notifier.web.base import ProtectedView

CATEGORY = _l("Duty work")


class GroupsView(ProtectedView):
    permission = "view"

    @expose("/")
    def index(self):
        kind = request.args.get("kind")
        return self.render("duty/groups.html", rows=groups_with_counts(kind if kind in GROUP_KINDS else None),
                           kind=kind, kinds=GROUP_KIND_LABELS)

    @expose("/<int:group_id>")
    def show(self, group_id):
        group = get_group(group_id)
        if group is None:
            abort(404)
        return self.render("duty/group.html", group=group, deputies=members(group))


def register(admin):
    admin.add_view(GroupsView(name=_l("Groups"), endpoint="groups", url="/groups", category=CATEGORY))
