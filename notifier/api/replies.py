"""Replies: the inbound texts (GET /api/v1/replies) and reminders (POST /api/v1/notices/<id>/remind).
Thin views over notifier.replies; the same permissions as the pages."""
from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema, fields, validate

from notifier.api.common import MAX_ID, ApiBlueprint, PageArgs, keyset_page, not_found
from notifier.api.errors import REQUEST, ApiError
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.summary import get_notice, notice_to_dict
from notifier.replies import reminders
from notifier.replies.models import KINDS, InboundMessage

blp = ApiBlueprint("api_replies", __name__, url_prefix="/api/v1", description="Replies: texts from deputies")


class ReplyListArgs(PageArgs):
    notice_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    deputy_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    kind = fields.String(validate=validate.OneOf(KINDS))
    since = fields.AwareDateTime(metadata={"description": "Received at or after this time (with its zone)."})
    unmatched = fields.Boolean(metadata={"description": "true: only texts from numbers not on the roster."})


class ReplyPageOut(Schema):
    items = fields.List(fields.Dict())
    next_cursor = fields.String(allow_none=True)

    def dump(self, obj, *args, **kwargs):
        return obj


class RemindNoticeOut(Schema):
    class Meta:
        unknown = "include"

    id = fields.Integer()

    def dump(self, obj, *args, **kwargs):
        return obj


def _iso(value):
    return value.isoformat() if value is not None else None


def reply_to_dict(row):
    return {
        "id": row.id, "gateway_id": row.gateway_id, "from": row.from_number, "to": row.to_number, "body": row.body,
        "received_at": _iso(row.received_at), "deputy_id": row.deputy_id,
        "deputy_name": row.deputy.name if row.deputy else None, "notice_id": row.notice_id, "kind": row.kind,
        "code": row.code, "late": row.late, "read_at": _iso(row.read_at), "handled_at": _iso(row.handled_at),
    }


@blp.route("/replies")
class Replies(MethodView):
    @blp.requires("view")
    @blp.arguments(ReplyListArgs, location="query")
    @blp.response(200, ReplyPageOut)
    def get(self, args):
        """Inbound texts, oldest first (keyset pagination); filter by notice, deputy, kind, since."""
        query = db.select(InboundMessage)
        for key in ("notice_id", "deputy_id", "kind"):
            if args.get(key):
                query = query.where(getattr(InboundMessage, key) == args[key])
        if args.get("since"):
            query = query.where(InboundMessage.received_at >= args["since"])
        if args.get("unmatched") is not None:
            column = InboundMessage.deputy_id
            query = query.where(column.is_(None) if args["unmatched"] else column.is_not(None))
        return keyset_page(query, InboundMessage.id, args.get("cursor"), args["limit"], reply_to_dict)


@blp.route("/notices/<int:notice_id>/remind", methods=["POST"])
@blp.requires("compose")
@blp.response(201, RemindNoticeOut)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def remind(notice_id):
    """Remind the deputies who have not replied: creates a follow-up notice to exactly them and submits it
    (approval applies unless reminders are allowed without it). Returns the follow-up notice; 409 when there
    is nobody to remind, the notice asks no reply, is not sent, or its deadline has passed."""
    notice = get_notice(notice_id)
    if notice is None:
        raise not_found()
    try:
        follow = reminders.remind(notice, current_user._get_current_object())
    except workflow.NotAllowed as exc:
        db.session.rollback()
        raise ApiError(403, errors={REQUEST: [str(exc)]}, message=str(exc)) from None
    except workflow.WorkflowError as exc:
        db.session.rollback()
        raise ApiError(409, errors={REQUEST: [str(exc)]}, message=str(exc)) from None
    except workflow.NoticeInvalid as exc:
        db.session.rollback()
        raise ApiError(409, errors={REQUEST: [str(exc)]}, message=str(exc)) from None
    return notice_to_dict(follow, with_counts=True)
