"""Twilio's status callback and the delivery numbers for the UI: thin views over the domain."""
from flask import Blueprint, abort, current_app, jsonify, request
from twilio.request_validator import RequestValidator

from notifier.accounts.auth import permission_required
from notifier.delivery import inbox
from notifier.delivery.receipts import STATUS_CALLBACK
from notifier.delivery.stats import delivery_status
from notifier.ops import counters

bp = Blueprint("delivery", __name__)


@bp.before_app_request
def start_webhook_drainer():
    """Each web process drains its host's webhook spool in the background (started on its first
    request, so that a restart also finds what an outage left)."""
    inbox.ensure_drainer(current_app._get_current_object())


def public_url():
    """The URL Twilio called, rebuilt from PUBLIC_BASE_URL (behind a proxy request.url is not it)."""
    query = request.query_string.decode("utf-8", "replace")
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path + (f"?{query}" if query else "")


def check_twilio_signature():
    """403 unless Twilio signed this request (no database needed: checked before anything is kept)."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
        abort(403)


def signed_request():
    """What inbox.accept keeps of a checked request: the form and where it was posted."""
    return {"form": request.form.to_dict(), "request": {
        "method": request.method, "url": public_url(), "signature": request.headers.get("X-Twilio-Signature")}}


@bp.post("/webhooks/twilio/status")
def twilio_status():
    counters.checked_webhook("status", check_twilio_signature)
    raw_id = request.args.get("message_id", "")
    inbox.accept(STATUS_CALLBACK, {"message_id": int(raw_id) if raw_id.isdigit() else None, **signed_request()})
    # 200 once kept (handled, or spooled until the database is back), even for a message we do
    # not know: Twilio does not send a status callback again.
    return "", 200


@bp.get("/delivery/status.json")
@permission_required("view")
def status_json():
    return jsonify(delivery_status())

