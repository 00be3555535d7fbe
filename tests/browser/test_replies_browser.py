"""Replies in a real browser (Debian chromium), in Chinese and in English: the tallies with names
on the notice page and the remind button, the inbox with filters and marks, and a conversation
with a one-off reply. Screenshots are kept under test-artifacts/<test>/."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import dispatch_notice
from notifier.notices.models import Notice
from notifier.replies.models import InboundMessage
from notifier.replies.service import receive
from notifier.timeutil import utcnow
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import add_deputies, notice_data, user

pytestmark = pytest.mark.browser
LOCALES = ["zh_Hans_CN", "en"]
WORDS = {
    "zh_Hans_CN": {"confirmed": "已确认", "none": "尚未回复", "remind": "提醒未回复的代表", "inbox": "收件箱",
                   "unknown": "未知", "handled": "已处理", "waits": "回复短信等待审批"},
    "en": {"confirmed": "Confirmed", "none": "No reply yet", "remind": "Remind those who have not replied",
           "inbox": "Inbox", "unknown": "Unknown", "handled": "Handled", "waits": "The reply waits for approval"},
}


@pytest.fixture
def scene(app, request):
    """Eight deputies sent a notice; four replied (one late-free mix), one stranger texted."""
    locale = request.getfixturevalue("locale")
    with app.app_context():
        composer, approver = (user(add_user(app, f"{role}-{locale}", role, locale=locale))
                              for role in ("composer", "approver"))
        add_deputies(8, levels=("county",))
        notice = workflow.create_notice(notice_data(reply_deadline=utcnow() + timedelta(days=2)), composer)
        workflow.submit(notice, composer)
        workflow.approve(notice, approver)
        dispatch_notice(notice.id)
        for i, (who, body) in enumerate([("+8613900000000", "1"), ("+8613900000001", "１ 收到！"),
                                         ("+8613900000002", "2 出差在外"), ("+8613900000003", "会议材料能否提前发？"),
                                         ("+8613900000004", "退订"), ("+8613512345678", "你好，我是哪个选区的？")]):
            receive({"MessageSid": f"SM{i:032d}", "From": who, "To": "+15005550006", "Body": body})
        ids = {"notice": notice.id, "composer": composer.username,
               "deputy": db.session.scalar(select(InboundMessage.deputy_id).where(InboundMessage.body == "2 出差在外"))}
        db.session.remove()
    return ids


@pytest.mark.parametrize("locale", LOCALES)
def test_tallies_inbox_and_conversation(app, page, screenshot, scene, locale):
    words = WORDS[locale]
    log_in(page, scene["composer"])
    page.goto(f"/notices/{scene['notice']}")
    card = page.locator("#reply-tally")
    assert [page.text_content(f"#tally-{k}") for k in ("confirmed", "declined", "other", "opted_out", "none")] \
        == ["2", "1", "1", "1", "3"]
    assert words["confirmed"] in card.inner_text() and words["none"] in card.inner_text()
    assert page.locator("#names-declined .tally-name").inner_text().strip() == "代表2"
    screenshot(f"tallies-{locale}")

    # A reply arriving while the page is open shows up without a reload.
    with app.app_context():
        receive({"MessageSid": "SM" + "9" * 32, "From": "+8613900000005", "To": "+15005550006", "Body": "1"})
        db.session.remove()
    page.wait_for_function("document.getElementById('tally-confirmed').textContent.trim() === '3'", timeout=20000)
    assert page.text_content("#tally-none") == "2"

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#btn-remind")
    # The reminder is a follow-up of the notice, listed on it, and repeats approved text: it goes.
    page.wait_for_selector("#follow-ups li[data-kind='reminder']")
    with app.app_context():
        follow = db.session.scalars(select(Notice).where(Notice.id != scene["notice"])).one()
        assert follow.audience["deputy_ids"] and len(follow.audience["deputy_ids"]) == 2
        assert follow.status == "approved" and follow.parent_id == scene["notice"]
        db.session.remove()
    screenshot(f"reminder-created-{locale}")

    page.goto("/replies/")
    assert words["inbox"] in page.inner_text("body")
    assert page.locator("#inbox tbody tr").count() == 7  # six before the page was opened, one while
    page.select_option("#filter-show", "unmatched")
    page.click("#inbox-filters button[type=submit]")
    page.wait_for_url("**show=unmatched**")
    assert page.locator("#inbox tbody tr").count() == 1 and words["unknown"] in page.inner_text("#inbox")
    page.check(".inbox-check")
    page.click("#mark-handled")
    page.wait_for_selector(".inbox-state .badge-success")
    assert words["handled"] in page.inner_text("#inbox")
    screenshot(f"inbox-{locale}")

    page.goto(f"/replies/deputy/{scene['deputy']}")
    bubbles = page.locator("[data-direction]")
    assert [bubbles.nth(i).get_attribute("data-direction") for i in range(bubbles.count())] == ["out", "in"]
    assert page.inner_text(".conv-status") == {"zh_Hans_CN": "排队中", "en": "Queued"}[locale]
    page.fill("#reply-body", "好的，已为您登记请假。")
    page.click("#btn-send-reply")
    page.wait_for_selector(".alert")
    assert words["waits"] in page.inner_text("body")
    assert page.inner_text(".conv-waiting .conv-body") == "好的，已为您登记请假。"  # shown as waiting
    screenshot(f"conversation-{locale}")
