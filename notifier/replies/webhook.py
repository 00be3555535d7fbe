"""Twilio's inbound SMS webhook: signature checked (403), stored once per MessageSid, answered
at once with TwiML (an acknowledgement when REPLY_ACK_TEXT is set, else an empty Response)."""
from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from notifier.delivery.views import check_twilio_signature
from notifier.replies.service import InboundInvalid, acknowledgement, receive

bp = Blueprint("replies_webhook", __name__)


@bp.post("/webhooks/twilio/inbound")
def twilio_inbound():
    check_twilio_signature()
    try:
        _row, created = receive(request.form.to_dict())
    except InboundInvalid:
        return Response("MessageSid is required", status=400, mimetype="text/plain")
    twiml = MessagingResponse()
    ack = acknowledgement()
    if ack and created:  # a replay is not answered twice
        twiml.message(ack)
    return Response(str(twiml), mimetype="application/xml")
