"""Request and response schemas for /api/v1/deputies (they are also the OpenAPI document).

The schemas check shapes and types; the roster domain (notifier.roster.service) checks meaning
(phone numbers, levels, uniqueness) and has the last word.
"""
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from notifier.api.common import PageArgs, StrictBoolean, Text
from notifier.roster.models import LEVEL_CODES
from notifier.roster.service import max_length

PHONE_HELP = "A mainland mobile number in any common form (+86, spaces, dashes); stored as E.164."
LEVELS_HELP = "Level codes (national, provincial, municipal, county) or Chinese names (全国, 省级, 市级, 县级...)."


class DeputySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True, metadata={"description": "E.164, e.g. +8613800138000"})
    levels = fields.List(fields.String(validate=validate.OneOf(LEVEL_CODES)), required=True)
    constituency = fields.String(required=True)
    organisation = fields.String(required=True)
    title = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    groups = fields.List(fields.String(), metadata={"description": "Deputy groups and delegations (代表小组, 代表团)."})
    stations = fields.List(fields.String(), metadata={"description": "Liaison stations (联络站)."})
    active = fields.Boolean(required=True)
    opted_out = fields.Boolean(required=True, metadata={"description": "The deputy asked not to be texted."})
    opted_out_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    opted_out_via = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


class DeputyPageSchema(Schema):
    items = fields.List(fields.Nested(DeputySchema), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null on the last."}
    )


class DeputyListArgs(PageArgs):
    q = Text(max_length=100, metadata={"description": "Part of the name, organisation or phone number."})
    level = fields.List(
        Text(max_length=200), metadata={"description": "Any of these levels; repeat or comma-separate. " + LEVELS_HELP}
    )
    tag = fields.List(Text(max_length=200), metadata={"description": "Any of these tags; repeat or comma-separate."})
    active = fields.Boolean(metadata={"description": "true or false"})
    opted_out = fields.Boolean(metadata={"description": "true or false"})


class DeputyFieldsSchema(Schema):
    """The fields a client may set; lengths are the database columns'."""

    name = Text(min_length=1, max_length=max_length("name"))
    phone = Text(min_length=1, max_length=32, metadata={"description": PHONE_HELP})
    levels = fields.List(Text(max_length=32), validate=validate.Length(max=20), metadata={"description": LEVELS_HELP})
    constituency = Text(max_length=max_length("constituency"))
    organisation = Text(max_length=max_length("organisation"))
    title = Text(max_length=max_length("title"))
    tags = fields.List(
        Text(min_length=1, max_length=max_length("tag")),
        validate=validate.Length(max=50),
        metadata={"description": "Tag names; new tags are created."},
    )
    groups = fields.List(Text(min_length=1, max_length=max_length("group")), validate=validate.Length(max=20),
                         metadata={"description": "Deputy group or delegation names; new ones are created."})
    stations = fields.List(Text(min_length=1, max_length=max_length("group")), validate=validate.Length(max=20),
                           metadata={"description": "Liaison station names; new ones are created."})
    active = StrictBoolean()


class DeputyCreateSchema(DeputyFieldsSchema):
    name = Text(required=True, min_length=1, max_length=max_length("name"))
    phone = Text(required=True, min_length=1, max_length=32, metadata={"description": PHONE_HELP})


class DeputyPatchSchema(DeputyFieldsSchema):
    opted_out = StrictBoolean(
        metadata={"description": "Admins only, and only together with `reason` (e.g. the deputy asked by phone)."}
    )
    reason = Text(min_length=1, max_length=200, metadata={"description": "Why opted_out changes (required with it)."})


class ImportArgs(Schema):
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "true: report what would happen and write nothing."}
    )


class ImportFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "The roster as .xlsx or .csv (UTF-8 or GB18030)."})


class RowIssueSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "Row as the spreadsheet shows it (header = 1)."})
    column = fields.String(required=True, metadata={"description": "The column header in the file."})
    message = fields.String(required=True)


class ImportResultSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    errors = fields.List(fields.Nested(RowIssueSchema), required=True, metadata={"description": "Rows not imported."})
    total = fields.Integer(required=True, metadata={"description": "Data rows in the file (blank lines not counted)."})
    ignored_columns = fields.List(fields.String(), required=True)
    dry_run = fields.Boolean(required=True)
