"""Templates of template-only gateways (Aliyun): list and register. Thin views over
notifier.notices.templates; registering needs the `compose` permission, like composing."""
from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema, fields

from notifier.api.common import (
    ApiBlueprint,
    AsIs,
    PageArgs,
    PageOut,
    StrictBoolean,
    Text,
    keyset_page,
)
from notifier.api.errors import ApiError
from notifier.extensions import db
from notifier.notices import templates
from notifier.notices.models import TEMPLATE_GATEWAYS, SmsTemplate

blp = ApiBlueprint("api_templates", __name__, url_prefix="/api/v1/templates",
                   description="SMS templates approved at a template-only gateway (Aliyun)")


class TemplateCreateSchema(Schema):
    code = Text(required=True, max_length=64, metadata={"description": "As the gateway named it, e.g. SMS_123456789"})
    gateway = Text(metadata={"enum": list(TEMPLATE_GATEWAYS)})
    text = Text(required=True, max_length=500, metadata={
        "description": "The approved text with ${var} variables, without the signature."})
    name = Text(max_length=100)
    approved = StrictBoolean()


class TemplateSchema(Schema):
    class Meta:
        unknown = "include"

    id = fields.Integer()
    code = fields.String()
    gateway = fields.String()
    text = fields.String()
    variables = fields.List(fields.String())
    approved = fields.Boolean()


class TemplateOut(AsIs, TemplateSchema):
    """A template as SmsTemplate.to_dict gives it."""


@blp.route("")
class Templates(MethodView):
    @blp.requires("view")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, PageOut)
    def get(self, args):
        """List templates, oldest first."""
        return keyset_page(db.select(SmsTemplate), SmsTemplate.id, args.get("cursor"), args["limit"],
                           lambda t: t.to_dict())

    @blp.requires("compose")
    @blp.arguments(TemplateCreateSchema)
    @blp.response(201, TemplateOut)
    def post(self, data):
        """Register a template as the gateway approved it (the same gateway and code again: corrected)."""
        try:
            return templates.add_template(data, current_user._get_current_object()).to_dict()
        except templates.TemplateInvalid as exc:
            db.session.rollback()
            raise ApiError(422, errors={"json": exc.errors}) from None
