"""Twilio's status callback and the delivery numbers for the UI: thin views over the domain."""
from flask import Blueprint, abort, current_app, jsonify, request
from twilio.request_validator import RequestValidator

from notifier.accounts.auth import permission_required
from notifier.delivery.receipts import apply_status_callback
from notifier.delivery.stats import delivery_status

bp = Blueprint("delivery", __name__)


def public_url():
    """The URL Twilio called, rebuilt from PUBLIC_BASE_URL (behind a proxy request.url is not it)."""
    query = request.query_string.decode("utf-8", "replace")
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path + (f"?{query}" if query else "")


def check_twilio_signature():
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
        abort(403)


@bp.post("/webhooks/twilio/status")
def twilio_status():
    check_twilio_signature()
    raw_id = request.args.get("message_id", "")
    message_id = int(raw_id) if raw_id.isdigit() else None
    apply_status_callback(message_id, request.form.to_dict())
    # 200 even for a message we do not know: Twilio must not retry what we cannot use.
    return "", 200


@bp.get("/delivery/status.json")
@permission_required("view")
def status_json():
    return jsonify(delivery_status())
