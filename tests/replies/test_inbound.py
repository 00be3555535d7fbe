"""The inbound webhook: signed, stored once, threaded, acted on; forged and replayed requests."""
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.replies.models import InboundMessage
from notifier.roster.models import Deputy
from tests.notices.conftest import add_deputies
from tests.replies.conftest import AUTH_TOKEN, new_sid, send_notice, signed_post


def inbound_rows():
    db.session.expire_all()
    return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()


def test_signed_text_is_stored_threaded_and_answered_with_empty_twiml(ctx, staff, text_in):
    ids = add_deputies(3)
    notice = send_notice(staff)
    response = text_in("+86 139-0000-0001", "１ 收到！")  # spaces, dashes, full-width digit
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    (row,) = inbound_rows()
    assert row.deputy_id == ids[1] and row.notice_id == notice.id and row.kind == "confirm"
    assert row.from_number == "+86 139-0000-0001" and row.body == "１ 收到！" and not row.late


def test_replayed_webhook_is_stored_once_and_acts_once(ctx, staff, text_in, signed_app):
    (deputy_id,) = add_deputies(1)
    sid = new_sid()
    for _ in range(3):
        assert text_in("+8613900000000", "退订", sid=sid).status_code == 200
    assert len(inbound_rows()) == 1
    deputy = db.session.get(Deputy, deputy_id)
    assert deputy.opted_out and deputy.opted_out_via == "sms:退订"
    from notifier.audit.models import AuditEvent

    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "deputy.opt_out")) == 1


def test_forged_and_unsigned_webhooks_get_403_and_store_nothing(ctx, client, signed_app):
    fields = {"MessageSid": new_sid(), "From": "+8613900000000", "To": "+15005550006", "Body": "退订"}
    assert client.post("/webhooks/twilio/inbound", data=fields).status_code == 403  # no signature
    assert signed_post(client, fields, token="not-the-token").status_code == 403  # wrong key
    assert signed_post(client, fields, signature="AAAA").status_code == 403
    # Signed for other fields than those sent: the body was tampered with.
    sig = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/webhooks/twilio/inbound", fields)
    tampered = dict(fields, Body="1")
    assert client.post("/webhooks/twilio/inbound", data=tampered,
                       headers={"X-Twilio-Signature": sig}).status_code == 403
    # Signed for another URL (a proxy must not make the check pass for the wrong public URL).
    assert signed_post(client, fields, url="http://evil.example/webhooks/twilio/inbound").status_code == 403
    assert inbound_rows() == []


def test_missing_message_sid_is_a_400_not_a_500(ctx, client, signed_app):
    fields = {"From": "+8613900000000", "Body": "1"}
    assert signed_post(client, fields).status_code == 400
    assert inbound_rows() == []


def test_unknown_sender_is_kept_unmatched(ctx, staff, text_in):
    add_deputies(2)
    send_notice(staff)
    assert text_in("+8613512345678", "我是新来的代表，请加我").status_code == 200
    assert text_in("not-a-number", "退订").status_code == 200  # odd sender ids are kept too
    rows = inbound_rows()
    assert [(r.deputy_id, r.notice_id) for r in rows] == [(None, None), (None, None)]
    assert [r.kind for r in rows] == ["text", "opt_out"]


def test_acknowledgement_is_configurable_and_not_repeated_on_replay(ctx, text_in, app):
    app.config["REPLY_ACK_TEXT"] = "已收到，谢谢。"
    try:
        sid = new_sid()
        first = text_in("+8613900000000", "你好", sid=sid).get_data(as_text=True)
        again = text_in("+8613900000000", "你好", sid=sid).get_data(as_text=True)
    finally:
        app.config["REPLY_ACK_TEXT"] = None
    assert "<Message>已收到，谢谢。</Message>" in first
    assert "<Message>" not in again


def test_help_is_answered_through_the_outbox(ctx, text_in):
    (deputy_id,) = add_deputies(1)
    assert text_in("8613900000000", "帮助").status_code == 200
    (row,) = inbound_rows()
    assert row.kind == "help" and row.deputy_id == deputy_id
    (message,) = db.session.scalars(select(Message)).all()
    assert message.deputy_id == deputy_id and message.to == "+8613900000000" and message.notice_id is None
    assert "回复退订" in message.body and message.status == "queued"


def test_control_characters_and_huge_bodies_are_stored(ctx, text_in):
    assert text_in("+8613900000000", "a\x00b\x07c" + "长" * 5000).status_code == 200
    (row,) = inbound_rows()
    assert row.body.startswith("abc") and len(row.body) == 1600
