"""Error pages in the platform's language, with a way back (the API answers JSON: notifier/api/errors.py)."""
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from notifier.api.errors import handle_http_error

TITLES = {400: _l("The request could not be handled"), 403: _l("No access"), 404: _l("Page not found"),
          405: _l("Not allowed here"), 413: _l("The file is too large")}
EXPLANATIONS = {
    400: _l("Go back, reload the page and try again."),
    403: _l("Your role does not allow this page. Ask an administrator if you need it."),
    404: _l("This page does not exist, or what it showed has been removed."),
    405: _l("This address does not accept that kind of request."),
    413: _l("Upload a smaller file, or split it into several."),
}


def error_page(exc):
    if request.path.startswith(("/api/", "/webhooks/")):
        return handle_http_error(exc)  # JSON for the API; Twilio needs no page
    explanation = EXPLANATIONS.get(exc.code)
    if isinstance(exc, CSRFError):
        explanation = _l("The form had expired or was sent from elsewhere. Go back, reload the page and try again.")
    return render_template("errors/error.html", code=exc.code, title=TITLES.get(exc.code, exc.name),
                           explanation=explanation), exc.code


def register_error_pages(app):
    for code in TITLES:
        app.register_error_handler(code, error_page)
