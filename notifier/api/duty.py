"""Deputy duty work: groups, meeting attendance, suggestions and the duty record. Thin views over
notifier.roster.groups and notifier.duty; reading needs any role, acting needs `compose`."""
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from notifier.api.common import ApiBlueprint, AsIs
from notifier.roster.groups import group_to_dict, groups_with_counts
from notifier.roster.models import GROUP_KINDS

groups_blp = ApiBlueprint("api_groups", __name__, url_prefix="/api/v1/groups",
                          description="Deputy groups, delegations and liaison stations")


class GroupListArgs(Schema):
    kind = fields.String(validate=validate.OneOf(GROUP_KINDS))


class GroupOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"enum": list(GROUP_KINDS)})
    members = fields.Integer(metadata={"description": "Active deputies in the group."})


class GroupListOut(AsIs):
    items = fields.List(fields.Nested(GroupOut))
    next_cursor = fields.String(allow_none=True)


@groups_blp.route("")
class Groups(MethodView):
    @groups_blp.requires("view")
    @groups_blp.arguments(GroupListArgs, location="query")
    @groups_blp.response(200, GroupListOut)
    def get(self, args):
        """Every group (an audience takes their ids as `groups`), with its number of active members."""
        return {"items": [group_to_dict(g, n) for g, n in groups_with_counts(args.get("kind"))], "next_cursor": None}


BLUEPRINTS = (groups_blp,)
