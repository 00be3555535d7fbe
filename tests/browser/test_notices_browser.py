"""Notices in a real browser (Debian chromium), in Chinese and in English: the compose page's live
segment counter with Chinese text, approval by a second user, and the notice page's live progress.
Screenshots are kept under test-artifacts/<test>/."""
import re

import pytest
from sqlalchemy import select, update

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices.dispatch import complete_if_done, dispatch_notice
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import add_deputies

pytestmark = pytest.mark.browser
LOCALES = ["zh_Hans_CN", "en"]
WORDS = {  # what the page says in each language
    "zh_Hans_CN": {"pending": "待审批", "sending": "发送中", "delivered": "已送达", "save_submit": "保存并提交审批",
                   "completed": "已完成", "system": "系统"},
    "en": {"pending": "Pending approval", "sending": "Sending", "delivered": "Delivered",
           "save_submit": "Save and submit for approval", "completed": "Completed", "system": "System"},
}


@pytest.fixture
def staff(app):
    def make(role, locale):
        return add_user(app, f"{role}-{locale}", role, locale=locale)

    return make


@pytest.fixture
def roster(app):
    with app.app_context():
        add_deputies(12, levels=("county",))
        add_deputies(2, levels=("county",), start=100, opted_out=True)
        add_deputies(1, levels=("county",), start=200, active=False)
        db.session.remove()


def compose_and_submit(page, screenshot, locale):
    page.goto("/notices/new")
    page.fill("input[name=title]", "关于召开县人大常委会第十次会议的通知")
    page.check("input[name=levels][value=county]")
    page.fill("textarea[name=body]", "{name}代表：定于本周五上午九时召开常委会会议。")
    page.check("input[name=reply][value=confirm]")
    # The longest text: signature 8 + 代表10代表：…会议。 24 + 回复1确认，2请假 #10 13 = 45 (no space after 。): one UCS-2 segment
    page.wait_for_function("document.getElementById('pv-chars').textContent === '45'")
    assert page.text_content("#pv-encoding") == "UCS-2"
    assert page.text_content("#pv-segments") == "1"
    assert page.text_content("#pv-recipients") == "12"
    assert page.text_content("#pv-total") == "12"
    assert page.text_content("#pv-opted-out") == "2" and page.text_content("#pv-inactive") == "1"
    assert page.text_content("#pv-example").startswith("【县人大常委会】代表0代表：定于本周五")
    screenshot(f"compose-one-segment-{locale}")
    page.type("textarea[name=body]", "请各位代表准时出席，会议地点在县人大常委会三楼会议室。")  # typed, key by key
    page.wait_for_function("document.getElementById('pv-segments').textContent === '2'")
    assert int(page.text_content("#pv-chars")) > 70
    assert page.text_content("#pv-total") == "24"
    screenshot(f"compose-two-segments-{locale}")
    page.click("#save-submit")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert page.text_content("#notice-status-line .notice-status") == WORDS[locale]["pending"]
    screenshot(f"submitted-{locale}")
    return int(page.url.rsplit("/", 1)[1])


@pytest.mark.parametrize("locale", LOCALES)
def test_compose_approve_and_watch_progress(app, browser, live_server, page, screenshot, staff, roster, locale):
    composer, approver = staff("composer", locale), staff("approver", locale)
    log_in(page, composer.username)
    notice_id = compose_and_submit(page, screenshot, locale)
    assert page.locator("#btn-approve").count() == 0  # the author cannot approve

    # A second user, in a second browser session, approves.
    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    other = context.new_page()
    other.set_default_timeout(15000)
    log_in(other, approver.username)
    assert other.text_content("#approvals-badge") == "1"
    other.goto("/approvals/")
    screenshot_page(other, screenshot, f"queue-{locale}")
    other.click(f"tr[data-notice-id='{notice_id}'] a")
    other.once("dialog", lambda dialog: dialog.accept())
    other.click("#btn-approve")
    other.wait_for_url(re.compile(rf"/notices/{notice_id}$"))
    assert other.locator("[data-action='notice.approve']").count() == 1
    context.close()

    # What a worker does on approval, here in the test process: write and queue the messages.
    with app.app_context():
        dispatch_notice(notice_id)
        db.session.remove()
    page.goto(f"/notices/{notice_id}")
    assert page.text_content("#notice-status-line .notice-status") == WORDS[locale]["sending"]
    assert page.text_content("#count-queued") == "12" and page.text_content("#count-skipped") == "3"
    assert page.get_attribute("#progress-card", "data-live") == "true"
    screenshot(f"progress-queued-{locale}")

    # Deliveries come in: the page follows without a reload.
    with app.app_context():
        ids = db.session.scalars(select(Message.id).where(Message.status == "queued").order_by(Message.id)).all()
        db.session.execute(update(Message).where(Message.id.in_(ids[:7])).values(status="delivered"))
        db.session.commit()
        db.session.remove()
    page.wait_for_function("document.getElementById('count-delivered').textContent === '7'", timeout=10000)
    assert page.text_content(f"tr[data-message-id='{ids[0]}'] .m-status") == WORDS[locale]["delivered"]
    screenshot(f"progress-live-{locale}")
    with app.app_context():
        db.session.execute(update(Message).where(Message.id.in_(ids[7:])).values(status="delivered"))
        db.session.commit()
        assert complete_if_done(notice_id)  # as the notices tick does: completed, and audited
        db.session.remove()
    page.wait_for_function("document.getElementById('progress-card').dataset.live === 'false'", timeout=10000)
    assert page.text_content("#count-delivered") == "12"
    assert re.search(r"width: 80(\.0)?%", page.get_attribute("#bar-delivered", "style"))  # 12 of 15
    completed = page.text_content("#notice-history li[data-action='notice.complete']")  # added without a reload
    assert WORDS[locale]["completed"] in completed and WORDS[locale]["system"] in completed
    screenshot(f"progress-done-{locale}")


def screenshot_page(page, screenshot, name):
    """The `screenshot` fixture shoots the main page; keep the second user's page beside it."""
    import os

    path = screenshot(name)  # main page, for context
    page.screenshot(path=os.path.join(os.path.dirname(path), f"{name}-second-user.png"), full_page=True)
