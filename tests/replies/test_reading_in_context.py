"""A bare word that is also an opt-out keyword ("取消") is read by what it answers: declining a
meeting invitation, not leaving the service. The inbox says why each text was read as it was."""
from notifier.extensions import db
from notifier.replies.models import InboundMessage
from notifier.replies.service import tally
from notifier.roster.models import Deputy
from tests.conftest import PASSWORD, csrf_token
from tests.notices.conftest import add_deputies
from tests.replies.conftest import send_notice
from tests.replies.test_threading_and_effects import phone, reply


def test_cancel_to_a_meeting_invitation_declines_and_keeps_the_deputy_subscribed(ctx, staff):
    invited, _ = add_deputies(1), add_deputies(1, levels=("municipal",), start=1)
    notice = send_notice(staff, category="meeting", reply="confirm", audience={"levels": ["county"]})
    row = reply(phone(0), "取消")
    assert (row.notice_id, row.kind, row.reason, row.reason_word) == (notice.id, "decline", "declined_in_context", "取消")
    assert db.session.get(Deputy, invited[0]).opted_out is False
    assert tally(notice.id)["declined"] == 1

    # The same word from a deputy who was asked nothing: they want no more texts.
    stray = reply(phone(1), "取消")
    assert (stray.notice_id, stray.kind, stray.reason) == (None, "opt_out", "keyword")
    assert db.session.get(Deputy, stray.deputy_id).opted_out is True


def test_cancel_to_a_notice_asking_for_a_written_reply_is_kept_as_the_answer(ctx, staff):
    (deputy_id,) = add_deputies(1)
    notice = send_notice(staff, reply="text", category="activity")
    row = reply(phone(0), "取消")
    assert (row.notice_id, row.kind, row.reason) == (notice.id, "text", "answer_in_context")
    assert db.session.get(Deputy, deputy_id).opted_out is False


def test_the_inbox_says_why_a_reply_was_read_as_it_was(app, client, login, staff, make_user):
    # No app context held across the requests: each page gets its own (and its own language).
    with app.app_context():
        add_deputies(2)
        send_notice(staff, category="meeting", reply="confirm")
        reply(phone(0), "取消")
        reply(phone(1), "2 出差在外")
        assert {r.reason for r in db.session.scalars(db.select(InboundMessage))} == {"declined_in_context", "digit"}
        db.session.remove()
    login(staff["composer"])
    page = client.get("/replies/").get_data(as_text=True)
    assert "“取消”也可表示退订，但它是对要求确认或请假的通知的回复：按请假处理，该代表仍接收短信。" in page
    assert "以 2 开头，符合回复说明的要求。" in page
    english, reader = app.test_client(), make_user("viewer", locale="en")
    english.post("/login", data={"username": reader.username, "password": PASSWORD,
                                 "csrf_token": csrf_token(english)})
    page = english.get("/replies/").get_data(as_text=True)
    assert "“取消” can also mean unsubscribe, but it answers a notice that asks to confirm or decline: read as " \
           "declining. The deputy stays subscribed." in page
    assert "It starts with 2, as the reply instruction asks." in page
