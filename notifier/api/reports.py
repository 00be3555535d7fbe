"""The message log, a message's history, notice exports and the audit trail, for other systems.
Thin views over notifier.reports; the same permissions as the pages (viewers read the log and
reports; gateway exchanges and the audit trail are for admins)."""
from flask import Response, current_app, stream_with_context
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from notifier.api.common import (
    ApiBlueprint,
    AsIs,
    PageArgs,
    PageOut,
    Text,
    decode_cursor,
    encode_cursor,
    not_found,
)
from notifier.api.errors import ApiError
from notifier.api.notices import notice_or_404
from notifier.audit.models import AuditEvent
from notifier.delivery.models import STATUSES
from notifier.extensions import db
from notifier.gateways.base import redact
from notifier.reports import export, masking
from notifier.reports.log import message_history, message_rows, parse_filters, parse_when, search
from notifier.roster.models import LEVEL_CODES

messages_blp = ApiBlueprint("api_messages", __name__, url_prefix="/api/v1/messages",
                            description="The delivery log: every outbound text and its history")
exports_blp = ApiBlueprint("api_notice_exports", __name__, url_prefix="/api/v1/notices",
                           description="Notice reports per recipient as CSV or XLSX")
audit_blp = ApiBlueprint("api_audit_events", __name__, url_prefix="/api/v1/audit-events",
                         description="The audit trail (the audit administrator only; read-only)")


class MessageListArgs(PageArgs):
    q = Text(max_length=64, metadata={"description": "Part of a deputy's name or number."})
    notice_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(validate=validate.OneOf(STATUSES))
    error_code = Text(max_length=16, metadata={"description": "A gateway error code, e.g. 30003."})
    level = fields.String(validate=validate.OneOf(LEVEL_CODES))
    since = Text(max_length=40, metadata={"description": "A date (local day, inclusive) or an ISO datetime."})
    until = Text(max_length=40, metadata={"description": "A date (local day, inclusive) or an ISO datetime "
                                                         "(exclusive)."})


class ExportArgs(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(export.FORMATS))


class AuditArgs(PageArgs):
    actor = Text(max_length=64, metadata={"description": "Username (exact)."})
    action = Text(max_length=64, metadata={"description": "Action, e.g. notice.approve; a trailing * matches a "
                                                         "prefix (notice.*)."})
    since = Text(max_length=40)
    until = Text(max_length=40)


class LogPageOut(PageOut):
    """A page of the message log or the audit trail (its own name in the OpenAPI document)."""


class MessageHistoryOut(AsIs):
    class Meta:
        unknown = "include"

    id = fields.Integer()
    status = fields.String(metadata={"enum": list(STATUSES)})
    events = fields.List(fields.Dict())
    exchanges = fields.List(fields.Dict(), metadata={"description": "Gateway exchanges, secrets redacted "
                                                                    "(administrators only)."})


def _mask():
    return masking.masker(current_user)


def _bad_query(problems):
    return ApiError(422, errors={"query": problems})


@messages_blp.route("")
class Messages(MethodView):
    @messages_blp.requires("view")
    @messages_blp.arguments(MessageListArgs, location="query")
    @messages_blp.response(200, LogPageOut)
    def get(self, args):
        """The message log, newest first (keyset pagination: pass `next_cursor` back as `cursor`)."""
        f, problems = parse_filters({k: v for k, v in args.items() if k not in ("cursor", "limit")})
        if problems:
            raise _bad_query(problems)
        before = decode_cursor(args.get("cursor")) or None
        page = search(f, before=before, limit=args["limit"])
        return {"items": message_rows(page["messages"], _mask()),
                "next_cursor": encode_cursor(page["next_before"]) if page["next_before"] else None}


@messages_blp.route("/<int:message_id>")
class MessageItem(MethodView):
    @messages_blp.requires("view")
    @messages_blp.response(200, MessageHistoryOut)
    @messages_blp.alt_response(404, response="NOT_FOUND")
    def get(self, message_id):
        """One message with its body, every event, the reply, and (administrators) gateway exchanges."""
        admin = current_user.can("admin")
        data = message_history(message_id, _mask(), with_exchanges=admin)
        if data is None:
            raise not_found()
        if admin:
            secrets = [current_app.config.get("TWILIO_AUTH_TOKEN")]
            data["exchanges"] = [redact(x, secrets) for x in data["exchanges"]]
        return data


EXPORT_DOC = {"responses": {"200": {"description": "The file, streamed.", "content": {
    "text/csv": {"schema": {"type": "string"}},
    export.MIMETYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}}


@exports_blp.route("/<int:notice_id>/export")
class NoticeExport(MethodView):
    @exports_blp.requires("view")
    @exports_blp.arguments(ExportArgs, location="query")
    @exports_blp.alt_response(404, response="NOT_FOUND")
    @exports_blp.doc(**EXPORT_DOC)
    def get(self, args, notice_id):
        """Per recipient: deputy, levels, number, status, times, error and reply. An audit event."""
        notice = notice_or_404(notice_id)
        fmt = args["format"]
        export.record_export("notice", fmt, current_user._get_current_object(), target=notice, via="api")
        response = Response(stream_with_context(export.chunks(fmt, export.notice_query(notice.id), _mask(),
                                                              f"notice {notice.id}")),
                            mimetype=export.MIMETYPES[fmt])
        response.headers["Content-Disposition"] = f"attachment; filename={export.filename(f'notice-{notice.id}', fmt)}"
        response.headers["Cache-Control"] = "no-store"
        return response


def audit_to_dict(event):
    return {"id": event.id, "at": event.at.isoformat(), "user_id": event.user_id, "actor": event.actor,
            "action": event.action, "target_type": event.target_type, "target_id": event.target_id,
            "detail": event.detail or {}, "ip": event.ip, "user_agent": event.user_agent}


@audit_blp.route("")
class AuditEvents(MethodView):
    @audit_blp.requires("audit")
    @audit_blp.arguments(AuditArgs, location="query")
    @audit_blp.response(200, LogPageOut)
    def get(self, args):
        """Audit events, newest first, filtered by actor, action and time. Read-only: nothing edits them."""
        query = select(AuditEvent)
        if args.get("actor"):
            query = query.where(AuditEvent.actor == args["actor"])
        action = args.get("action")
        if action:
            query = query.where(AuditEvent.action.startswith(action[:-1]) if action.endswith("*")
                                else AuditEvent.action == action)
        problems = {}
        for key, end in (("since", False), ("until", True)):
            if args.get(key):
                try:
                    when = parse_when(args[key], end=end)
                except ValueError:
                    problems[key] = [_("Give a date (2026-01-31) or a date and time.")]
                    continue
                query = query.where(AuditEvent.at >= when if key == "since" else AuditEvent.at < when)
        if problems:
            raise _bad_query(problems)
        before = decode_cursor(args.get("cursor"))
        if before:
            query = query.where(AuditEvent.id < before)
        rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(args["limit"] + 1)).all()
        more = len(rows) > args["limit"]
        rows = rows[:args["limit"]]
        return {"items": [audit_to_dict(e) for e in rows],
                "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}


BLUEPRINTS = (messages_blp, exports_blp, audit_blp)
