"""API errors: one JSON shape for every 4xx, translated into the client's language.

Shape (documented in the OpenAPI as the `Error` schema):

    {"message": "<one sentence>", "errors": {<where>: <messages>}}

`<where>` is the part of the request that is wrong: `json` (body fields), `query`, `files`,
`path`, each mapping field -> [messages] (or a plain [messages] when the whole part is wrong, e.g.
malformed JSON); or `_request` -> [messages] for errors about the request as a whole
(authentication, permission, not found).
"""
import re

from flask import jsonify, request
from flask_babel import gettext as _
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

REQUEST = "_request"


class ErrorSchema(Schema):
    message = fields.String(required=True, metadata={"description": "One translated sentence saying what is wrong."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={
            "description": "Where -> messages. `json`, `query`, `files`, `path`: field -> [messages] "
            "(or [messages] for the whole part, e.g. malformed JSON); `_request`: [messages] about the "
            "request as a whole (authentication, permission, not found).",
            "example": {"json": {"phone": ["This is not a mobile number."]}},
        },
    )


# marshmallow / webargs say these in English; map them to catalogue entries at request time.
_KNOWN = [
    (r"Missing data for required field\.", lambda m: _("Missing data for required field.")),
    (r"Field may not be null\.", lambda m: _("This field may not be null.")),
    (r"Unknown field\.", lambda m: _("Unknown field.")),
    (r"Invalid input type\.", lambda m: _("Expected a JSON object.")),
    (r"Invalid value\.", lambda m: _("Invalid value.")),
    (r"Not a valid string\.", lambda m: _("Not a valid string.")),
    (r"Not a valid utf-8 string\.", lambda m: _("Not a valid string.")),
    (r"Not a valid integer\.", lambda m: _("Not a valid integer.")),
    (r"Number too large\.", lambda m: _("Number too large.")),
    (r"Not a valid boolean\.", lambda m: _("Not a valid boolean (use true or false).")),
    (r"Not a valid list\.", lambda m: _("Not a valid list.")),
    (r"Not a valid mapping type\.", lambda m: _("Not a valid object.")),
    (r"Invalid JSON body\.", lambda m: _("The body is not valid JSON.")),
    (r"Shorter than minimum length (?P<min>\d+)\.", lambda m: _("Shorter than minimum length %(min)s.", min=m["min"])),
    (r"Longer than maximum length (?P<max>\d+)\.", lambda m: _("Longer than maximum length %(max)s.", max=m["max"])),
    (
        r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
        lambda m: _("Length must be between %(min)s and %(max)s.", min=m["min"], max=m["max"]),
    ),
    (
        r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
        lambda m: _("Must be between %(min)s and %(max)s.", min=m["min"], max=m["max"]),
    ),
]
_KNOWN = [(re.compile(f"^{pattern}$"), translate) for pattern, translate in _KNOWN]


def translate_messages(messages):
    """Walk marshmallow's nested error messages and translate the ones we know."""
    if isinstance(messages, dict):
        return {str(key): translate_messages(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [translate_messages(value) for value in messages]
    if isinstance(messages, str):
        for pattern, translate in _KNOWN:
            match = pattern.match(messages)
            if match:
                return translate(match)
        return messages
    return str(messages)


def _summary(status):
    """One sentence per status, for `message` and for `_request` errors."""
    return {
        400: lambda: _("The request could not be understood."),
        401: lambda: _("Authentication required: send an API token as 'Authorization: Bearer <token>'."),
        403: lambda: _("Your role does not allow this."),
        404: lambda: _("Not found."),
        405: lambda: _("This method is not allowed here."),
        409: lambda: _("This conflicts with the current state."),
        413: lambda: _("The upload is too large."),
        415: lambda: _("Send the body as JSON (Content-Type: application/json)."),
        422: lambda: _("Some fields are not valid."),
        429: lambda: _("Too many requests; try again later."),
    }.get(status, lambda: _("The request failed."))()


def error_response(status, errors=None, message=None, headers=None):
    message = message or _summary(status)
    body = {"message": message, "errors": translate_messages(errors) if errors else {REQUEST: [message]}}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class ApiError(HTTPException):
    """Raised by API views: `ApiError(422, errors={"json": {"phone": [...]}})`."""

    def __init__(self, status, errors=None, message=None, headers=None):
        super().__init__()
        self.code = status
        self.data = {"errors": errors, "message": message, "headers": headers}


def handle_http_error(exc):
    """JSON for API paths; other paths keep Flask's own (HTML) error pages."""
    if not request.path.startswith("/api/"):
        return exc
    data = getattr(exc, "data", None) or {}
    # webargs puts validation errors in "messages"; ApiError and flask-smorest's abort use "errors".
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if exc.code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        headers.setdefault("Allow", ", ".join(exc.valid_methods))
    return error_response(exc.code or 500, errors, data.get("message"), headers)
