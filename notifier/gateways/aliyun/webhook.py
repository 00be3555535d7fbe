"""Aliyun's pushes: POST /webhooks/aliyun/<ALIYUN_CALLBACK_TOKEN>/report and /up, JSON arrays,
answered {"code": 0, "msg": "接收成功"} once kept (handled now, or spooled while the database is
away). A wrong token or a source outside ALIYUN_CALLBACK_ALLOW gets 403; a push that does not
parse, 400 (see pushes.py for why that is the protection)."""
import hmac
import json

from flask import Blueprint, abort, current_app, jsonify, request

from notifier.delivery import inbox
from notifier.gateways.aliyun import pushes

bp = Blueprint("aliyun_webhook", __name__)
MAX_BYTES = 2 * 1024 * 1024


def _checked(token):
    expected = current_app.config.get("ALIYUN_CALLBACK_TOKEN") or ""
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        abort(403)
    if not pushes.source_allowed(request.remote_addr, current_app.config.get("ALIYUN_CALLBACK_ALLOW")):
        abort(403)
    if (request.content_length or 0) > MAX_BYTES:
        abort(413)
    try:
        return json.loads(request.get_data(cache=False) or b"")
    except ValueError:
        return None


def _refused(message):
    return jsonify(code=1, msg=message), 400


@bp.post("/webhooks/aliyun/<token>/report")
def aliyun_report(token):
    data = _checked(token)
    try:
        items = pushes.parse_reports(data)
    except pushes.PushInvalid as exc:
        return _refused(str(exc))
    inbox.accept(pushes.REPORT, {"items": items})
    return jsonify(pushes.ANSWER)


@bp.post("/webhooks/aliyun/<token>/up")
def aliyun_up(token):
    data = _checked(token)
    try:
        items = pushes.parse_replies(data)
    except pushes.PushInvalid as exc:
        return _refused(str(exc))
    inbox.accept(pushes.UP, {"items": items})
    return jsonify(pushes.ANSWER)
