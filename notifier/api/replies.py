"""Replies: the inbound texts (GET /api/v1/replies) and reminders (POST /api/v1/notices/<id>/remind).
Thin views over notifier.replies; the same permissions as the pages."""
from flask.views import MethodView
from flask_login import current_user
from marshmallow import fields, validate

from notifier.api.common import (
    MAX_ID,
    ApiBlueprint,
    AsIs,
    PageArgs,
    PageOut,
    keyset_page,
    where_equal,
)
from notifier.api.notices import notice_or_404, workflow_call
from notifier.extensions import db
from notifier.notices.summary import notice_to_dict
from notifier.replies import reminders
from notifier.replies.models import KINDS, InboundMessage
from notifier.reports.masking import masker

blp = ApiBlueprint("api_replies", __name__, url_prefix="/api/v1", description="Replies: texts from deputies")


class ReplyListArgs(PageArgs):
    notice_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    deputy_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    kind = fields.String(validate=validate.OneOf(KINDS))
    since = fields.AwareDateTime(metadata={"description": "Received at or after this time (with its zone)."})
    unmatched = fields.Boolean(metadata={"description": "true: only texts from numbers not on the roster."})


class ReplyPageOut(PageOut):
    """A page of replies (its own name in the OpenAPI document)."""


class RemindNoticeOut(AsIs):
    class Meta:
        unknown = "include"

    id = fields.Integer()


def _iso(value):
    return value.isoformat() if value is not None else None


def reply_to_dict(row, mask=None):
    return {
        "id": row.id, "gateway_id": row.gateway_id, "from": mask(row.from_number) if mask else row.from_number, "to": row.to_number, "body": row.body,
        "received_at": _iso(row.received_at), "deputy_id": row.deputy_id,
        "deputy_name": row.deputy.name if row.deputy else None, "notice_id": row.notice_id, "kind": row.kind,
        "code": row.code, "late": row.late, "reason": row.reason, "reason_text": row.reason_label, "read_at": _iso(row.read_at), "handled_at": _iso(row.handled_at),
    }


@blp.route("/replies")
class Replies(MethodView):
    @blp.requires("view")
    @blp.arguments(ReplyListArgs, location="query")
    @blp.response(200, ReplyPageOut)
    def get(self, args):
        """Inbound texts, oldest first (keyset pagination); filter by notice, deputy, kind, since."""
        query = where_equal(db.select(InboundMessage), InboundMessage, args, ("notice_id", "deputy_id", "kind"))
        if args.get("since"):
            query = query.where(InboundMessage.received_at >= args["since"])
        if args.get("unmatched") is not None:
            column = InboundMessage.deputy_id
            query = query.where(column.is_(None) if args["unmatched"] else column.is_not(None))
        mask = masker(current_user)
        return keyset_page(query, InboundMessage.id, args.get("cursor"), args["limit"],
                           lambda row: reply_to_dict(row, mask))


@blp.route("/notices/<int:notice_id>/remind", methods=["POST"])
@blp.requires("compose")
@blp.response(201, RemindNoticeOut)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def remind(notice_id):
    """Remind the deputies who have not replied: creates a follow-up notice to exactly them and submits it
    (approval applies unless reminders are allowed without it). Returns the follow-up notice; 409 when there
    is nobody to remind, the notice asks no reply, is not sent, or its deadline has passed."""
    follow = workflow_call(reminders.remind, notice_or_404(notice_id), current_user._get_current_object(),
                           invalid_status=409)
    return notice_to_dict(follow, with_counts=True)
