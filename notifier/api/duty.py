"""Deputy duty work: groups, meeting attendance, suggestions and the duty record. Thin views over
notifier.roster.groups and notifier.duty; reading needs any role, acting needs `compose`."""
from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema, fields, validate

from notifier.api.common import (
    MAX_ID,
    ApiBlueprint,
    AsIs,
    PageArgs,
    PageOut,
    Text,
    keyset_page,
    not_found,
)
from notifier.api.errors import REQUEST, ApiError
from notifier.duty import meetings, record, suggestions
from notifier.duty.models import ATTENDANCE_STATUSES, SATISFACTIONS, SUGGESTION_STATUSES, Suggestion
from notifier.extensions import db
from notifier.notices.summary import get_notice
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


attendance_blp = ApiBlueprint("api_attendance", __name__, url_prefix="/api/v1/notices",
                              description="A meeting invitation's attendance")


class AttendanceRow(Schema):
    deputy_id = fields.Integer()
    name = fields.String()
    status = fields.String(metadata={"enum": list(ATTENDANCE_STATUSES)})
    reply = fields.String(allow_none=True, metadata={
        "description": "confirmed, declined, received (only acknowledged), other, opted_out, or null: no reply"})
    reply_text = fields.String(allow_none=True)
    leave_reason = fields.String(allow_none=True, metadata={"description": "What the deputy wrote after the 2."})
    replied_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    signed_in_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    via = fields.String(allow_none=True, metadata={"description": "door, sms, staff or api"})
    recorded = fields.Boolean(metadata={"description": "Staff or a 签到 text set the status (else the reply did)."})


class AttendanceOut(AsIs):
    items = fields.List(fields.Nested(AttendanceRow))
    summary = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "attended, leave, absent, invited"})


class AttendanceIn(Schema):
    deputy_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    status = Text(required=True, max_length=16, metadata={"enum": list(ATTENDANCE_STATUSES)})


def _meeting_or_error(notice_id):
    notice = get_notice(notice_id)
    if notice is None:
        raise not_found()
    return notice


def _attendance(notice):
    try:
        rows = meetings.attendance(notice)
    except meetings.NotAMeeting as exc:
        raise ApiError(409, errors={REQUEST: [str(exc)]}, message=str(exc)) from None
    return {"items": rows, "summary": meetings.summary(rows)}


@attendance_blp.route("/<int:notice_id>/attendance")
class NoticeAttendance(MethodView):
    @attendance_blp.requires("view")
    @attendance_blp.response(200, AttendanceOut)
    @attendance_blp.alt_response(404, response="NOT_FOUND")
    @attendance_blp.alt_response(409, response="CONFLICT")
    def get(self, notice_id):
        """Every invitee of a meeting invitation with a `status` (attended, leave, absent) and their reply."""
        return _attendance(_meeting_or_error(notice_id))

    @attendance_blp.requires("compose")
    @attendance_blp.arguments(AttendanceIn)
    @attendance_blp.response(200, AttendanceOut)
    @attendance_blp.alt_response(404, response="NOT_FOUND")
    @attendance_blp.alt_response(409, response="CONFLICT")
    def post(self, data, notice_id):
        """Record one invitee's status (a sign-in is `attended`); the list as it then stands."""
        notice = _meeting_or_error(notice_id)
        try:
            meetings.set_status(notice, data["deputy_id"], data["status"], current_user._get_current_object(),
                                via="api")
        except meetings.NotAMeeting as exc:
            db.session.rollback()
            raise ApiError(409, errors={REQUEST: [str(exc)]}, message=str(exc)) from None
        except meetings.AttendanceInvalid as exc:
            db.session.rollback()
            raise ApiError(422, errors={"json": exc.errors}) from None
        return _attendance(notice)


suggestions_blp = ApiBlueprint("api_suggestions", __name__, url_prefix="/api/v1/suggestions",
                               description="Deputies' suggestions (代表建议), handled to an answer")


class SuggestionOut(AsIs):
    id = fields.Integer()
    number = fields.String(metadata={"description": "Per year: 2026-001, 2026-002..."})
    deputy_id = fields.Integer()
    deputy_name = fields.String()
    text = fields.String()
    source = fields.String(metadata={"enum": ["sms", "paper", "api"]})
    status = fields.String(metadata={"enum": list(SUGGESTION_STATUSES)})
    organ = fields.String(allow_none=True)
    due_date = fields.String(allow_none=True, metadata={"format": "date"})
    overdue = fields.Boolean(metadata={"description": "Assigned and past its due date, not answered."})
    answer = fields.String(allow_none=True)
    satisfaction = fields.String(allow_none=True, metadata={"enum": list(SATISFACTIONS)})


class SuggestionListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(SUGGESTION_STATUSES))
    deputy_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    overdue = fields.Boolean(metadata={"description": "true: only the assigned ones past their due date"})


class SuggestionCreate(Schema):
    deputy_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    text = Text(required=True, min_length=1, max_length=suggestions.MAX_TEXT)


class SuggestionPatch(Schema):
    text = Text(min_length=1, max_length=suggestions.MAX_TEXT, metadata={"description": "Before it is assigned."})
    organ = Text(min_length=1, max_length=suggestions.MAX_ORGAN)
    due_date = fields.Date()
    status = Text(max_length=24, metadata={"description": "Changes only by assign and answer."})


class AssignIn(Schema):
    organ = Text(required=True, min_length=1, max_length=suggestions.MAX_ORGAN)
    due_date = fields.Date(allow_none=True, metadata={"description": "Default: three months from today."})


class AnswerIn(Schema):
    text = Text(required=True, min_length=1, max_length=suggestions.MAX_TEXT)


def _suggestion_or_404(suggestion_id):
    suggestion = suggestions.get(suggestion_id)
    if suggestion is None:
        raise not_found()
    return suggestion


def _suggestion_call(func, *args):
    try:
        return suggestions.to_dict(func(*args))
    except suggestions.SuggestionInvalid as exc:
        db.session.rollback()
        raise ApiError(422, errors={"json": exc.errors}) from None
    except suggestions.SuggestionConflict as exc:
        db.session.rollback()
        raise ApiError(409, errors={REQUEST: [str(exc)]}, message=str(exc)) from None


def _actor():
    return current_user._get_current_object()


@suggestions_blp.route("")
class Suggestions(MethodView):
    @suggestions_blp.requires("view")
    @suggestions_blp.arguments(SuggestionListArgs, location="query")
    @suggestions_blp.response(200, PageOut)
    def get(self, args):
        """Suggestions, oldest first, filtered by `status`, `deputy_id`, `overdue`."""
        query = suggestions.suggestion_query(args.get("status"), args.get("deputy_id"), args.get("overdue"))
        return keyset_page(query, Suggestion.id, args.get("cursor"), args["limit"], suggestions.to_dict)

    @suggestions_blp.requires("compose")
    @suggestions_blp.arguments(SuggestionCreate)
    @suggestions_blp.response(201, SuggestionOut)
    def post(self, data):
        """Enter a suggestion a deputy handed in on paper; the deputy is texted its number."""
        return _suggestion_call(suggestions.create_for_deputy, data["deputy_id"], data["text"], _actor(), "api")


@suggestions_blp.route("/<int:suggestion_id>")
class SuggestionItem(MethodView):
    @suggestions_blp.requires("view")
    @suggestions_blp.response(200, SuggestionOut)
    @suggestions_blp.alt_response(404, response="NOT_FOUND")
    def get(self, suggestion_id):
        """One suggestion."""
        return suggestions.to_dict(_suggestion_or_404(suggestion_id))

    @suggestions_blp.requires("compose")
    @suggestions_blp.arguments(SuggestionPatch)
    @suggestions_blp.response(200, SuggestionOut)
    @suggestions_blp.alt_response(404, response="NOT_FOUND")
    @suggestions_blp.alt_response(409, response="CONFLICT")
    def patch(self, data, suggestion_id):
        """Correct the text (before assignment), the organ or the due date (before the answer)."""
        return _suggestion_call(suggestions.update, _suggestion_or_404(suggestion_id), data, _actor())


@suggestions_blp.route("/<int:suggestion_id>/assign", methods=["POST"])
@suggestions_blp.requires("compose")
@suggestions_blp.arguments(AssignIn)
@suggestions_blp.response(200, SuggestionOut)
@suggestions_blp.alt_response(404, response="NOT_FOUND")
@suggestions_blp.alt_response(409, response="CONFLICT")
def suggestion_assign(data, suggestion_id):
    """Assign to an `organ` with a `due_date` (three months from today when omitted)."""
    return _suggestion_call(suggestions.assign, _suggestion_or_404(suggestion_id), data["organ"],
                            data.get("due_date"), _actor())


@suggestions_blp.route("/<int:suggestion_id>/answer", methods=["POST"])
@suggestions_blp.requires("compose")
@suggestions_blp.arguments(AnswerIn)
@suggestions_blp.response(200, SuggestionOut)
@suggestions_blp.alt_response(404, response="NOT_FOUND")
@suggestions_blp.alt_response(409, response="CONFLICT")
def suggestion_answer(data, suggestion_id):
    """Record the organ's answer (`text`); the deputy is texted to rate it 1/2/3."""
    return _suggestion_call(suggestions.answer, _suggestion_or_404(suggestion_id), data["text"], _actor())


records_blp = ApiBlueprint("api_duty_records", __name__, url_prefix="/api/v1/deputies",
                           description="A deputy's duty record (履职档案)")


class RecordArgs(Schema):
    since = fields.String(metadata={"format": "date", "description": "First day (local); default 1 January"})
    until = fields.String(metadata={"format": "date", "description": "Last day (local); default 31 December"})


class RecordOut(AsIs):
    deputy_id = fields.Integer()
    name = fields.String()
    since = fields.String(metadata={"format": "date"})
    until = fields.String(metadata={"format": "date"})
    notices_received = fields.Integer()
    confirmed = fields.Integer()
    declined = fields.Integer()
    meetings_attended = fields.Integer()
    meetings_leave = fields.Integer()
    meetings_absent = fields.Integer()
    suggestions = fields.Integer()
    suggestions_answered = fields.Integer()
    satisfaction = fields.Dict(keys=fields.String(), values=fields.Integer(),
                               metadata={"description": "Answered suggestions by rating"})


@records_blp.route("/<int:deputy_id>/record")
class DeputyRecord(MethodView):
    @records_blp.requires("view")
    @records_blp.arguments(RecordArgs, location="query")
    @records_blp.response(200, RecordOut)
    @records_blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, deputy_id):
        """Notices received, confirmations and leaves, meetings attended / on leave / absent, suggestions
        made and answered, over `since`..`until` (the current year by default)."""
        from notifier.roster.models import Deputy

        deputy = db.session.get(Deputy, deputy_id) if deputy_id <= MAX_ID else None
        if deputy is None:
            raise not_found()
        try:
            span = record.period(args.get("since"), args.get("until"))
        except record.PeriodInvalid as exc:
            raise ApiError(422, errors={"query": exc.errors}) from None
        return record.deputy_record(deputy, span)


BLUEPRINTS = (groups_blp, attendance_blp, suggestions_blp, records_blp)
