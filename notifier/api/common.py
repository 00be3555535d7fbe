"""Building blocks for API modules: the blueprint class, strict fields, keyset pagination.

Every API module makes its blueprint with `ApiBlueprint(...)`: it authenticates each request by
bearer token only, renders errors as JSON, refuses non-JSON bodies, and documents 401 (and 403
with `@blp.requires(...)`) in the OpenAPI.
"""
import base64
import binascii
import unicodedata
from functools import wraps

from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import HTTPException

from notifier.api.auth import authenticate
from notifier.api.errors import REQUEST, ApiError, handle_http_error

MAX_ID = 2**31 - 1  # PostgreSQL integer: larger ids cannot exist (and must not reach the database)


class ApiParser(FlaskParser):
    """webargs silently treats a non-JSON body as "no body"; an API client deserves to be told."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            abort(415, messages={"json": [_("Send the body as JSON (Content-Type: application/json).")]})
        if not req.get_data(cache=True).strip():
            abort(400, messages={"json": [_("The body is empty; send a JSON object.")]})
        return super()._raw_load_json(req)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Registered here, once per blueprint object, so several apps (tests) can register it.
        self.before_request(authenticate)
        self.register_error_handler(HTTPException, handle_http_error)

    def arguments(self, schema, *, location="json", **kwargs):
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator

        def documented(func):
            func = decorator(func)
            func = self.alt_response(400, response="BAD_REQUEST")(func)  # malformed JSON
            return self.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")(func)

        return documented

    def requires(self, permission):
        """403 unless the token's user has `permission`; put it above the other decorators so the
        check comes before the body is parsed."""

        def decorator(view):
            @wraps(view)
            def checked(*args, **kwargs):
                if not current_user.can(permission):
                    raise ApiError(403)
                return view(*args, **kwargs)

            return self.alt_response(403, response="FORBIDDEN")(checked)

        return decorator

    @staticmethod
    def _prepare_response_doc(doc, doc_info, *, api, spec, **kwargs):
        # Every API operation needs a bearer token.
        responses = doc_info.setdefault("response", {}).setdefault("responses", {})
        responses.setdefault(401, []).append("UNAUTHORIZED")
        return Blueprint._prepare_response_doc(doc, doc_info, api=api, spec=spec, **kwargs)


def _clean_text(value):
    """No control characters (NUL cannot be stored in PostgreSQL) and no lone surrogates."""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs" or (category == "Cc" and char not in "\t\n\r"):
            raise ValidationError(_("Contains characters that are not allowed."))


class Text(fields.String):
    """A string that can be stored: printable, optionally with a maximum length."""

    def __init__(self, *, max_length=None, min_length=None, **kwargs):
        validators = [_clean_text]
        if max_length is not None or min_length is not None:
            validators.append(validate.Length(min=min_length, max=max_length))
        super().__init__(validate=validators, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true/false only: "yes", 1 or "0" in a JSON body are type errors, not guesses."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class PageArgs(Schema):
    limit = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=500), metadata={"description": "Items per page (1-500)."}
    )
    cursor = Text(
        max_length=100,
        metadata={"description": "Opaque `next_cursor` from the previous page; omit for the first page."},
    )


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The id after which the page starts (0 for the first page); 422 for anything else."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _sep, number = text.partition(":")
        last_id = int(number)
        if prefix != "id" or not number.isdigit() or last_id > MAX_ID:
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, errors={"query": {"cursor": [_("Invalid cursor.")]}}) from None
    return last_id


def keyset_page(select, id_column, cursor, limit, to_dict):
    """One page of `select`, ordered by id: {"items": [...], "next_cursor": str | None}.

    Keyset (not offset) pagination: rows added or removed while a client walks the list never
    make it skip or repeat a row.
    """
    from notifier.extensions import db

    after = decode_cursor(cursor)
    rows = db.session.scalars(select.order_by(None).where(id_column > after).order_by(id_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [to_dict(row) for row in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more else None,
    }


def where_equal(query, model, args, keys):
    """`query` narrowed to the rows whose column equals the argument, for each of `keys` given."""
    for key in keys:
        if args.get(key):
            query = query.where(getattr(model, key) == args[key])
    return query


class AsIs(Schema):
    """A response the view builds itself: the schema documents it, dump passes it through."""

    def dump(self, obj, *args, **kwargs):
        return obj


class PageOut(AsIs):
    """A page of a list, as keyset_page builds it."""

    items = fields.List(fields.Dict())
    next_cursor = fields.String(allow_none=True)


def not_found():
    return ApiError(404, errors={REQUEST: [_("Not found.")]})
