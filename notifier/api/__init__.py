"""REST API v1 (flask-smorest): JSON, bearer tokens, OpenAPI generated from the code."""
from flask import jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from notifier.extensions import csrf


def init_api(app):
    # One Api per app: flask-smorest keeps the app and its spec on the instance.
    api = Api(app, spec_kwargs={
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    })
    from notifier.api.deputies import blp as deputies_blp

    for blp in (deputies_blp,):
        csrf.exempt(blp)  # token-authenticated, no cookies: CSRF does not apply
        api.register_blueprint(blp)

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        # API errors are {"errors": ...} with a 4xx; pages keep Flask's HTML errors.
        from flask import request

        if not request.path.startswith("/api/"):
            return exc
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages") or data.get("errors") or exc.description
        response = jsonify({"errors": errors})
        response.status_code = exc.code or 500
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        return response
