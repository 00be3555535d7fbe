"""Twilio's inbound SMS webhook: signature checked (403), kept before it is answered (stored once
per MessageSid, or spooled while the database is away), answered with TwiML (an acknowledgement
when REPLY_ACK_TEXT is set and the text is new, else an empty Response)."""
from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from notifier.delivery import inbox
from notifier.delivery.views import check_twilio_signature, signed_request
from notifier.replies.service import INBOUND_TEXT, InboundInvalid, acknowledgement, gateway_id_of

bp = Blueprint("replies_webhook", __name__)


@bp.post("/webhooks/twilio/inbound")
def twilio_inbound():
    from notifier.ops import counters

    counters.checked_webhook("inbound", check_twilio_signature)
    try:
        gateway_id_of(request.form)
    except InboundInvalid:
        return Response("MessageSid is required", status=400, mimetype="text/plain")
    result = inbox.accept(INBOUND_TEXT, signed_request())
    twiml = MessagingResponse()
    ack = acknowledgement()
    # A replay is not answered twice; nor is a text kept for later (it may be one).
    if ack and result is not inbox.SPOOLED and result[1]:
        twiml.message(ack)
    return Response(str(twiml), mimetype="application/xml")
