"""Notices: list, create, read, the workflow steps, and the per-recipient messages.
Thin views over notifier.notices; the same permissions as the pages."""
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from notifier.api.common import (
    ApiBlueprint,
    AsIs,
    PageArgs,
    PageOut,
    StrictBoolean,
    Text,
    keyset_page,
    not_found,
    where_equal,
)
from notifier.api.errors import REQUEST, ApiError
from notifier.delivery.models import STATUSES as MESSAGE_STATUSES
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import CATEGORIES, REPLY_MODES, SOURCES, STATUSES, Notice
from notifier.notices.summary import get_notice, message_to_dict, messages_query, notice_to_dict
from notifier.reports.masking import masker

blp = ApiBlueprint("api_notices", __name__, url_prefix="/api/v1/notices",
                   description="Notices: compose, approve, schedule and broadcast")


class AudienceSchema(Schema):
    levels = fields.List(Text(max_length=32), metadata={"description": "national, provincial, municipal, county"})
    tags = fields.List(Text(max_length=64))
    groups = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                         metadata={"description": "Group ids (GET /api/v1/groups)."})
    deputy_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)))


class NoticeCreateSchema(Schema):
    title = Text(required=True, max_length=200)
    body = Text(max_length=5000, metadata={
        "description": "Placeholders: {name}, {title}, {organisation}, {constituency}. The signature and the "
                       "reply instruction are added. Required unless `template` is given."})
    template = Text(allow_none=True, max_length=64, metadata={
        "description": "The code of an approved template (template-only gateways such as Aliyun): the notice "
                       "is that text with `params` filled, under the gateway's signature."})
    params = fields.Dict(keys=Text(max_length=32), values=fields.Raw(), metadata={
        "description": "Values of the template's ${variables}: at most 35 characters each, no links, no 【】. "
                       "They may use {name} and the other placeholders; ${name}-like variables and ${code} "
                       "left out are filled per deputy and with the reply code."})
    category = Text(metadata={"enum": list(CATEGORIES)})
    source = Text(metadata={"enum": list(SOURCES)})
    audience = fields.Nested(AudienceSchema, required=True)
    reply = Text(metadata={"enum": list(REPLY_MODES)})
    reply_deadline = fields.AwareDateTime(allow_none=True)
    scheduled_at = fields.AwareDateTime(allow_none=True, metadata={"description": "Omit to send on approval."})
    urgent = StrictBoolean()
    meeting_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "A meeting invitation (category meeting): when it starts; deputies may text 签到 that day."})
    meeting_place = Text(allow_none=True, max_length=200, metadata={"description": "Where the meeting is held."})


    @validates_schema(skip_on_field_errors=False)
    def body_or_template(self, data, partial=None, **kwargs):
        if not partial and not data.get("body") and not data.get("template"):
            raise ValidationError({"body": [_("The text is required.")]})


class NoticePatchSchema(NoticeCreateSchema):
    """Any of the create fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class RejectSchema(Schema):
    reason = Text(required=True, min_length=1, max_length=500)


class NoticeListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    source = fields.String(validate=validate.OneOf(SOURCES))
    created_by = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class MessageListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(MESSAGE_STATUSES))


class NoticeSchema(Schema):
    class Meta:
        unknown = "include"

    id = fields.Integer()
    title = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "Messages by status, and `total` (GET one notice)."})
    replies = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "confirmed, declined, other, none"})


class NoticeOut(AsIs, NoticeSchema):
    """Every field of notice_to_dict (documented loosely: see DESIGN.md's data section)."""


def _actor():
    return current_user._get_current_object()


def notice_or_404(notice_id):
    notice = get_notice(notice_id)
    if notice is None:
        raise not_found()
    return notice


def workflow_call(func, *args, invalid_status=422):
    """func(*args), a workflow function, its errors mapped (the session rolled back): not allowed 403,
    wrong state 409, bad fields `invalid_status` (422 lists them by field; another status says why)."""
    try:
        return func(*args)
    except workflow.NotAllowed as exc:
        raise _refused(403, exc) from None
    except workflow.WorkflowError as exc:
        raise _refused(409, exc) from None
    except workflow.NoticeInvalid as exc:
        if invalid_status != 422:
            raise _refused(invalid_status, exc) from None
        db.session.rollback()
        raise ApiError(422, errors={"json": exc.errors}) from None


def _refused(status, exc):
    db.session.rollback()
    return ApiError(status, errors={REQUEST: [str(exc)]}, message=str(exc))


def _step(func, notice, *args):
    """Run a workflow step on the notice; the notice with its counts."""
    workflow_call(func, notice, *args)
    return notice_to_dict(notice, with_counts=True)


@blp.route("")
class Notices(MethodView):
    @blp.requires("view")
    @blp.arguments(NoticeListArgs, location="query")
    @blp.response(200, PageOut)
    def get(self, args):
        """List notices, oldest first (keyset pagination), filtered by status, category, source, author."""
        query = where_equal(db.select(Notice), Notice, args, ("status", "category", "source"))
        if args.get("created_by"):
            query = query.where(Notice.created_by_id == args["created_by"])
        return keyset_page(query, Notice.id, args.get("cursor"), args["limit"], notice_to_dict)

    @blp.requires("compose")
    @blp.arguments(NoticeCreateSchema)
    @blp.response(201, NoticeOut)
    def post(self, data):
        """Write a draft notice."""
        return notice_to_dict(workflow_call(workflow.create_notice, data, _actor()), with_counts=True)


@blp.route("/<int:notice_id>")
class NoticeItem(MethodView):
    @blp.requires("view")
    @blp.response(200, NoticeOut)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, notice_id):
        """One notice with its message `counts` by status and `replies` tallies."""
        return notice_to_dict(notice_or_404(notice_id), with_counts=True)

    @blp.requires("compose")
    @blp.arguments(NoticePatchSchema)
    @blp.response(200, NoticeOut)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, notice_id):
        """Change a draft (a rejected notice becomes a draft again). 409 in any other state."""
        return _step(lambda n, d, a: workflow.update_notice(n, d, a), notice_or_404(notice_id), data, _actor())


def _transition(name, func, doc, schema=None):
    def view(notice_id, *args):
        notice = notice_or_404(notice_id)
        if schema is not None:
            return _step(func, notice, _actor(), args[0]["reason"])
        return _step(func, notice, _actor())

    def with_body(data, notice_id):
        return view(notice_id, data)

    target = with_body if schema is not None else view
    target.__name__ = f"notice_{name}"
    target.__doc__ = doc
    decorated = blp.alt_response(409, response="CONFLICT")(target)
    decorated = blp.alt_response(404, response="NOT_FOUND")(decorated)
    decorated = blp.response(200, NoticeOut)(decorated)
    if schema is not None:
        decorated = blp.arguments(schema)(decorated)
    decorated = blp.requires("approve" if name in ("approve", "reject") else "compose")(decorated)
    blp.route(f"/<int:notice_id>/{name}", methods=["POST"], endpoint=name)(decorated)


_transition("submit", workflow.submit, "Submit a draft for approval (approved at once when approval is off).")
_transition("approve", workflow.approve, "Approve (never your own notice): sends now, or at its scheduled time.")
_transition("reject", workflow.reject, "Reject with a `reason`: the notice goes back to its author.", RejectSchema)
_transition("cancel", workflow.cancel, "Cancel a notice that has not completed; unsent messages are cancelled.")


@blp.route("/<int:notice_id>/messages")
class NoticeMessages(MethodView):
    @blp.requires("view")
    @blp.arguments(MessageListArgs, location="query")
    @blp.response(200, PageOut)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, notice_id):
        """The notice's messages, one per recipient, with status, error and times."""
        from notifier.delivery.models import Message

        notice_or_404(notice_id)
        mask = masker(current_user)
        return keyset_page(messages_query(notice_id, args.get("status")), Message.id, args.get("cursor"),
                           args["limit"], lambda m: message_to_dict(m, mask))
