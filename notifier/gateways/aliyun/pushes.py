"""What Aliyun pushes to us: receipts (SmsReport) and deputies' replies (SmsUp), JSON arrays.

Aliyun does not sign its pushes. What protects these webhooks is the secret in their path
(ALIYUN_CALLBACK_TOKEN), an optional allow-list of source addresses (ALIYUN_CALLBACK_ALLOW), and
strict parsing: a push that is not exactly Aliyun's shape is refused whole, nothing of it kept.
Pushes repeat (Aliyun sends again what it thinks we missed): a receipt moves a text forward only
(a repeat changes nothing, not even the log), a reply is stored once per sequence_id.
"""
import ipaddress
import logging
import re

from sqlalchemy import select

from notifier.delivery import inbox
from notifier.delivery.models import DELIVERED, UNDELIVERED, Message
from notifier.delivery.receipts import apply_gateway_status
from notifier.extensions import db
from notifier.gateways.aliyun.adapter import e164, gateway_id_of, split_gateway_id
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
REPORT, UP = "aliyun.report", "aliyun.up"  # the kinds of webhook request kept by inbox.accept
ANSWER = {"code": 0, "msg": "接收成功"}  # what Aliyun expects back, or it pushes again
MAX_ITEMS = 1000
_NUMBER = re.compile(r"^\+?\d{5,20}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_BATCH_OUT_ID = re.compile(r"^b(\d+)-(\d+)$")


class PushInvalid(ValueError):
    """The push is not an array of Aliyun's items: refused whole."""


def _array(data):
    if not isinstance(data, list) or not data:
        raise PushInvalid("expected a non-empty JSON array")
    if len(data) > MAX_ITEMS:
        raise PushInvalid(f"at most {MAX_ITEMS} items in one push")
    if not all(isinstance(item, dict) for item in data):
        raise PushInvalid("every item must be a JSON object")
    return data


def _text(item, key, index, required=True, limit=64, pattern=None):
    value = item.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PushInvalid(f"item {index}: {key} must be a string")
    value = str(value).strip()
    if (required and not value) or len(value) > limit or (pattern and value and not pattern.match(value)):
        raise PushInvalid(f"item {index}: {key} is not valid")
    return value


def parse_reports(data):
    """SmsReport items: [{phone_number, success, biz_id, out_id, err_code, report_time, ...}]."""
    reports = []
    for index, item in enumerate(_array(data)):
        if not isinstance(item.get("success"), bool):
            raise PushInvalid(f"item {index}: success must be true or false")
        reports.append({
            "phone_number": _text(item, "phone_number", index, pattern=_NUMBER),
            "success": item["success"],
            "biz_id": _text(item, "biz_id", index),
            "out_id": _text(item, "out_id", index, required=False, limit=256) or None,
            "err_code": _text(item, "err_code", index, required=False) or None,
            "err_msg": _text(item, "err_msg", index, required=False, limit=200),
            "report_time": _text(item, "report_time", index, required=False, pattern=_TIME),
            "send_time": _text(item, "send_time", index, required=False, pattern=_TIME),
        })
    return reports


def parse_replies(data):
    """SmsUp items: [{phone_number, content, send_time, sequence_id, sign_name, dest_code}]."""
    replies = []
    for index, item in enumerate(_array(data)):
        content = item.get("content")
        if not isinstance(content, str):
            raise PushInvalid(f"item {index}: content must be a string")
        replies.append({
            "phone_number": _text(item, "phone_number", index, pattern=_NUMBER),
            "content": content[:1600],
            "sequence_id": _text(item, "sequence_id", index, pattern=re.compile(r"^\d{1,20}$")),
            "send_time": _text(item, "send_time", index, required=False, pattern=_TIME),
            "sign_name": _text(item, "sign_name", index, required=False, limit=64),
            "dest_code": _text(item, "dest_code", index, required=False, limit=32) or "",
        })
    return replies


def source_allowed(address, allow):
    """Whether `address` is in ALIYUN_CALLBACK_ALLOW (comma-separated addresses or networks;
    empty: any)."""
    networks = [part.strip() for part in (allow or "").split(",") if part.strip()]
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


# --- receipts ------------------------------------------------------------------------------------

def _find(report):
    """The id of our message for a receipt: by OutId (our id, or a batch's range) and number;
    else by BizId and number."""
    to = e164(report["phone_number"])
    out_id = report["out_id"] or ""
    query = select(Message.id).where(Message.to == to)
    if out_id.isdigit():
        return db.session.scalar(query.where(Message.id == int(out_id)))
    batch = _BATCH_OUT_ID.match(out_id)
    if batch:
        return db.session.scalar(query.where(Message.id.between(int(batch[1]), int(batch[2]))).limit(1))
    return db.session.scalar(query.where(Message.gateway_id == gateway_id_of(to, report["biz_id"])))


def apply_reports(reports, at=None):
    """Move each text forward to what its receipt says. Commits. Returns how many moved.

    The rows are locked at once in id order, the order the senders write them in: a push that
    comes while its texts' answers are being recorded waits, and never deadlocks with them."""
    at = at or utcnow()
    found = [(mid, report) for report in reports if (mid := _find(report)) is not None]
    for report in reports:
        if all(report is not r for _, r in found):
            log.info("aliyun receipt for no message of ours: %s", report)
    messages = {m.id: m for m in db.session.scalars(
        select(Message).where(Message.id.in_({mid for mid, _ in found})).order_by(Message.id).with_for_update())}
    moved = 0
    for mid, report in found:
        message = messages[mid]
        gateway_id = gateway_id_of(message.to, report["biz_id"])
        _number, biz_id, _out = split_gateway_id(message.gateway_id)
        if message.gateway_id and biz_id is None:
            # Found by QuerySendDetails, which does not tell the BizId: the receipt does.
            message.gateway_id = None
            db.session.flush()
        status = DELIVERED if report["success"] else UNDELIVERED
        moved += apply_gateway_status(message, gateway_id, "delivered" if report["success"] else "undelivered",
                                      None if report["success"] else report["err_code"], report["err_msg"] or None,
                                      source="callback", raw=report, at=at, quiet=True, status=status)
    db.session.commit()
    return moved


@inbox.handler(REPORT)
def _kept_reports(entry):
    return apply_reports(entry["items"], at=inbox.received_at(entry))


# --- replies -------------------------------------------------------------------------------------

def receive_replies(replies, at=None):
    """Store each reply once (by sequence_id) and thread it (by number, the open notice and a
    #code in the text: Aliyun carries no per-notice number). Returns how many were new."""
    from notifier.replies.service import receive

    new = 0
    for reply in replies:
        fields = {"MessageSid": f"aliyun:{reply['sequence_id']}", "From": e164(reply["phone_number"]),
                  "To": reply["dest_code"], "Body": reply["content"]}
        _row, created = receive(fields, now=at)
        new += bool(created)
    return new


@inbox.handler(UP)
def _kept_replies(entry):
    return receive_replies(entry["items"], at=inbox.received_at(entry))
