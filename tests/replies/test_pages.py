"""Reply pages through the test client: access, CSRF, inbox filters and marks, conversation and
one-off replies, tallies and the remind button on the notice page, the roster link."""
import re
from datetime import timedelta

from sqlalchemy import select

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices.models import Notice
from notifier.replies.models import InboundMessage
from notifier.replies.settings import set_setting
from notifier.timeutil import utcnow
from tests.conftest import csrf_token
from tests.notices.conftest import add_deputies, user
from tests.replies.conftest import send_notice
from tests.replies.test_threading_and_effects import phone, reply


def test_pages_need_login_and_roles(ctx, client, login, staff):
    (deputy_id,) = add_deputies(1)
    for path in ("/replies/", f"/replies/deputy/{deputy_id}"):
        assert client.get(path).status_code == 302  # to the login page
    login(staff["viewer"])
    assert client.get("/replies/").status_code == 200
    token = csrf_token(client, "/replies/")
    assert client.post(f"/replies/deputy/{deputy_id}/send", data={"body": "x", "csrf_token": token}).status_code == 403
    assert client.post("/replies/settings", data={"csrf_token": token}).status_code == 403
    assert client.post("/replies/notice/1/remind", data={"csrf_token": token}).status_code == 403
    # CSRF: a post without the token is refused.
    assert client.post("/replies/mark", data={"what": "read", "ids": "1"}).status_code == 400


def test_viewers_read_the_inbox_but_cannot_mark_it(ctx, client, login, staff):
    add_deputies(1)
    send_notice(staff)
    reply(phone(0), "1")
    row_id = db.session.scalar(select(InboundMessage.id))
    login(staff["viewer"])
    page = client.get("/replies/").get_data(as_text=True)
    assert f'data-inbound-id="{row_id}"' in page and 'id="mark-handled"' not in page
    token = csrf_token(client, "/replies/")
    for what in ("read", "handled"):
        response = client.post("/replies/mark", data={"what": what, "ids": [str(row_id)], "csrf_token": token})
        assert response.status_code == 403
    db.session.expire_all()
    row = db.session.get(InboundMessage, row_id)
    assert row.read_at is None and row.handled_at is None


def test_inbox_filters_and_marks(ctx, client, login, staff):
    add_deputies(2)
    notice = send_notice(staff)
    reply(phone(0), "1")
    reply(phone(1), "会议几点开始？")
    reply("+8613512345678", "陌生人的短信")
    login(staff["composer"])
    page = client.get("/replies/?show=unmatched").get_data(as_text=True)
    assert "陌生人的短信" in page and "会议几点开始" not in page
    page = client.get("/replies/?kind=confirm").get_data(as_text=True)
    assert 'data-kind="confirm"' in page and 'data-kind="text"' not in page
    page = client.get(f"/replies/?notice={notice.id}").get_data(as_text=True)
    assert "会议几点开始" in page and "陌生人" not in page
    assert 'data-kind="text">文字回复<' in page  # the kind, not "短信内容" (the body field's label)
    assert "<title>收件箱 - 人大短信平台</title>" in page  # the menu badge stays out of the tab title
    first = db.session.scalars(select(InboundMessage.id).order_by(InboundMessage.id)).first()
    token = csrf_token(client, "/replies/")
    assert client.post("/replies/mark", data={"what": "handled", "ids": [str(first)], "csrf_token": token}
                       ).status_code == 302
    db.session.expire_all()
    row = db.session.get(InboundMessage, first)
    assert row.read_at and row.handled_at and row.handled_by_id == staff["composer"].id
    unread = client.get("/replies/?show=unread").get_data(as_text=True)
    assert f'data-inbound-id="{first}"' not in unread and "陌生人的短信" in unread
    assert client.post("/replies/mark", data={"what": "bogus", "csrf_token": token}).status_code == 400


def test_conversation_shows_both_directions_in_order_and_sends_a_reply(ctx, client, login, staff):
    (deputy_id,) = add_deputies(1)
    send_notice(staff)
    reply(phone(0), "2 出差")
    login(staff["composer"])
    page = client.get(f"/replies/deputy/{deputy_id}").get_data(as_text=True)
    directions = re.findall(r'data-direction="(\w+)"', page)
    assert directions == ["out", "in"] and "2 出差" in page and "回复1确认" in page
    token = csrf_token(client, f"/replies/deputy/{deputy_id}")
    # Approval applies by default: the reply becomes a notice waiting for approval.
    client.post(f"/replies/deputy/{deputy_id}/send", data={"body": "好的，已为您请假。", "csrf_token": token})
    waiting = db.session.scalars(select(Notice).where(Notice.status == "pending_approval")).one()
    assert waiting.audience["deputy_ids"] == [deputy_id] and waiting.body == "好的，已为您请假。"
    set_setting("direct_replies_without_approval", True, actor=user(staff["admin"]))
    client.post(f"/replies/deputy/{deputy_id}/send", data={"body": "收到您的意见。", "csrf_token": token})
    direct = db.session.scalars(select(Message).where(Message.notice_id.is_(None))).one()
    assert direct.body.endswith("收到您的意见。") and direct.status == "queued"
    page = client.get(f"/replies/deputy/{deputy_id}").get_data(as_text=True)
    assert re.findall(r'data-direction="(\w+)"', page) == ["out", "in", "out"]
    empty = client.post(f"/replies/deputy/{deputy_id}/send", data={"body": "  ", "csrf_token": token},
                        follow_redirects=True)
    assert empty.status_code == 200
    assert client.get("/replies/deputy/999999").status_code == 404


def test_notice_page_tallies_and_remind_button(ctx, client, login, staff):
    add_deputies(4)
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(days=1))
    reply(phone(0), "1")
    reply(phone(1), "2")
    reply(phone(2), "我晚点到")
    login(staff["composer"])
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    for key, value in (("confirmed", 1), ("declined", 1), ("other", 1), ("opted_out", 0), ("none", 1)):
        assert f'id="tally-{key}">{value}<' in page
    assert "代表3" in page.split('id="names-none"')[1] and "我晚点到" in page
    token = csrf_token(client, f"/notices/{notice.id}")
    response = client.post(f"/replies/notice/{notice.id}/remind", data={"csrf_token": token})
    assert response.status_code == 302
    follow = db.session.scalars(select(Notice).where(Notice.id != notice.id)).one()
    assert response.headers["Location"].endswith(f"/notices/{notice.id}")  # the reminder is listed there
    assert follow.parent_id == notice.id
    assert follow.audience["deputy_ids"] == [db.session.scalar(select(InboundMessage.deputy_id).limit(1)) + 3]


def test_the_reply_card_alone_for_the_page_to_refresh(ctx, client, login, staff):
    add_deputies(3)
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(days=1))
    path = f"/replies/notice/{notice.id}/tally"
    assert client.get(path).status_code == 302  # to the login page
    login(staff["viewer"])
    card = client.get(path).get_data(as_text=True)
    assert card.lstrip().startswith('<div class="card mb-3" id="reply-tally"') and f'data-tally-url="{path}"' in card
    assert 'id="tally-confirmed">0<' in card and 'id="tally-none">3<' in card
    assert "<html" not in card and 'id="btn-remind"' not in card  # a fragment; a viewer cannot remind
    reply(phone(0), "1")
    card = client.get(path).get_data(as_text=True)
    assert 'id="tally-confirmed">1<' in card and 'id="tally-none">2<' in card
    assert client.get("/replies/notice/999999/tally").status_code == 404


def test_roster_list_links_to_the_conversation(ctx, client, login, staff):
    (deputy_id,) = add_deputies(1)
    login(staff["viewer"])
    page = client.get("/deputies/").get_data(as_text=True)
    assert f'href="/replies/deputy/{deputy_id}"' in page


def test_admin_settings(ctx, client, login, staff):
    login(staff["admin"])
    token = csrf_token(client, "/replies/")
    client.post("/replies/settings", data={"csrf_token": token, "reminders_without_approval": "1",
                                           "auto_remind_hours": "6"})
    from notifier.replies.settings import get_setting

    db.session.expire_all()
    assert get_setting("reminders_without_approval") is True and get_setting("auto_remind_hours") == 6.0
    assert get_setting("direct_replies_without_approval") is False
    bad = client.post("/replies/settings", data={"csrf_token": token, "auto_remind_hours": "soon"},
                      follow_redirects=True)
    assert bad.status_code == 200 and get_setting("auto_remind_hours") == 6.0


def test_the_notice_report_and_the_notice_page_count_replies_alike(ctx, client, login, staff):
    add_deputies(4)
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(days=1))
    reply(phone(0), "1")
    reply(phone(1), "退订")
    reply(phone(2), "我晚点到")
    login(staff["composer"])
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    report = client.get(f"/messages/notices/{notice.id}").get_data(as_text=True)
    for key, value in (("confirmed", 1), ("declined", 0), ("other", 1), ("opted_out", 1), ("none", 1)):
        assert f'id="tally-{key}">{value}<' in page
        assert f'id="replies-{key}">{value}<' in report, key
