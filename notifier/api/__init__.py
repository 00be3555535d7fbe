"""REST API v1 (flask-smorest): JSON, bearer tokens, OpenAPI generated from the code.

To add a resource: make an `ApiBlueprint` in a module here (see notifier/api/common.py) and add
it to BLUEPRINTS. Authentication, JSON errors and their OpenAPI documentation come with it.
"""
from flask_smorest import Api

from notifier.api.errors import ErrorSchema, handle_http_error
from notifier.extensions import csrf

DESCRIPTION = """\
REST API of the deputy SMS platform.

**Authentication.** Every operation needs `Authorization: Bearer <token>` (tokens are issued with
`notifier users token NAME` or on the account page). Session cookies do not authenticate the API.
Missing, wrong or revoked tokens get 401 with `WWW-Authenticate: Bearer`. Reading needs any role;
changing the roster needs the `edit_roster` permission (composer, approver, admin), else 403.

**Errors** are JSON with a 4xx status, always in the `Error` shape:
`{"message": "...", "errors": {<where>: <messages>}}`. `<where>` is `json` (body fields),
`query`, `files` or `path`, each mapping a field to a list of messages (a plain list when the whole
part is wrong, e.g. malformed JSON), or `_request` for the request as a whole. Validation errors,
including a phone number already on the roster, are 422. A body that is not JSON is 415.
Messages are in the language of `Accept-Language` (`zh` or `en`), else the token user's, else Chinese.

**Lists** are `{"items": [...], "next_cursor": "..."}`; pass `next_cursor` back as `cursor` for the
next page; it is `null` on the last page.
"""


class NotifierApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http_error(error)


def _blueprints():
    from notifier.api.deputies import blp as deputies
    from notifier.api.duty import BLUEPRINTS as duty  # noqa: I001  (issue 13: groups, meetings, suggestions)
    from notifier.api.notices import blp as notices
    from notifier.api.replies import blp as replies  # issue 5
    from notifier.api.reports import (
        BLUEPRINTS as reports,  # issue 6: messages, notice exports, audit events
    )
    from notifier.api.templates import blp as templates  # issue 12

    return (deputies, notices, replies, templates, *reports, *duty)


def init_api(app):
    # One Api per app: flask-smorest keeps the app and its spec on the instance.
    api = NotifierApi(
        app,
        spec_kwargs={
            "info": {"description": DESCRIPTION},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token."}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    )
    for blp in _blueprints():
        csrf.exempt(blp)  # bearer tokens only, never cookies (notifier/api/auth.py): CSRF does not apply
        api.register_blueprint(blp)
    return api
