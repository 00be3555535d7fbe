"""Duty work in a real browser (Debian chromium), in Chinese and English: the meeting sign-in page
on a phone-sized screen (search by name, one tap), the attendance on the notice page, a suggestion
with its steps, and the duty record with its chart. Screenshots under test-artifacts/<test>/."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifier.duty import suggestions
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import dispatch_notice
from notifier.replies.service import receive
from notifier.roster.models import Deputy
from notifier.roster.service import create_deputy
from notifier.timeutil import utcnow
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import notice_data, user

pytestmark = pytest.mark.browser
LOCALES = ["zh_Hans_CN", "en"]
WORDS = {
    "zh_Hans_CN": {"attended": "已出席", "leave": "请假", "absent": "缺席", "sign_in": "签到", "search": "按姓名查找",
                   "record": "履职档案", "chart": "各代表小组会议出席情况", "assigned": "已交办"},
    "en": {"attended": "Attended", "leave": "On leave", "absent": "Absent", "sign_in": "Sign in",
           "search": "Search by name", "record": "Duty record", "chart": "Meeting attendance per group",
           "assigned": "Assigned"},
}
PEOPLE = [("张三", "+8613700000001", "城关代表小组"), ("李四", "+8613700000002", "城关代表小组"),
          ("王五", "+8613700000003", "城关代表小组"), ("赵六", "+8613700000004", "东山代表团"),
          ("钱七", "+8613700000005", "东山代表团")]


@pytest.fixture
def scene(app, request):
    """Five deputies in two groups invited to a meeting held within the hour; 张三 replied 1, 李四
    "2 出差在外", 钱七 texted a suggestion that was assigned."""
    locale = request.getfixturevalue("locale")
    with app.app_context():
        composer, approver = (user(add_user(app, f"{role}-{locale}", role, locale=locale))
                              for role in ("composer", "approver"))
        for name, phone, group in PEOPLE:
            create_deputy({"name": name, "phone": phone, "levels": ["county"], "groups": [group]}, actor="system")
        notice = workflow.create_notice(notice_data(
            title="县人大常委会第三十次会议", audience={"levels": ["county"]},
            reply_deadline=utcnow() + timedelta(minutes=30), meeting_at=utcnow() + timedelta(minutes=50),
            meeting_place="县人大常委会三楼会议室"), composer)
        workflow.submit(notice, composer)
        workflow.approve(notice, approver)
        dispatch_notice(notice.id)
        for i, (phone, body) in enumerate([("+8613700000001", "1"), ("+8613700000002", "2 出差在外"),
                                           ("+8613700000005", "建议在东山村增设公交站，方便群众出行。")]):
            receive({"MessageSid": f"SMD{i:031d}", "From": phone, "To": "+15005550006", "Body": body})
        suggestion = db.session.scalars(select(suggestions.Suggestion)).one()
        suggestions.assign(suggestion, "县交通运输局", None, composer)
        ids = {"notice": notice.id, "composer": composer.username, "suggestion": suggestion.id,
               "qian": db.session.scalar(select(Deputy.id).where(Deputy.name == "钱七"))}
        db.session.remove()
    return ids


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("locale", LOCALES)
def test_sign_in_on_a_phone(app, browser, live_server, scene, locale, screenshot):
    words = WORDS[locale]
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 812}, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        log_in(page, scene["composer"])
        page.goto(f"/meetings/{scene['notice']}/sign-in")
        assert page.get_attribute("#sign-in-q", "placeholder") == words["search"]
        assert page.locator(".sign-in-row").count() == 5
        assert _no_sideways_scroll(page)
        page.screenshot(path=_path(screenshot, f"sign-in-{locale}"), full_page=True)
        page.fill("#sign-in-q", "王")
        assert page.locator(".sign-in-row:visible").count() == 1
        button = page.locator(".sign-in-row:visible .sign-in-button")
        assert button.inner_text().strip() == words["sign_in"]
        box = button.bounding_box()
        assert box["height"] >= 40 and box["x"] + box["width"] <= 375  # one thumb-sized tap, on the screen
        with page.expect_navigation():
            button.tap()
        wang = page.locator(".sign-in-row[data-name='王五']")
        assert wang.get_attribute("data-status") == "attended" and words["attended"] in wang.inner_text()
        assert page.text_content("#si-attended") == "1" and page.text_content("#si-leave") == "1"
        leave = page.locator(".sign-in-row[data-name='李四']")
        # On leave, with the reason; still a button, should they come after all.
        assert "出差在外" in leave.inner_text() and leave.get_attribute("data-status") == "leave"
        assert _no_sideways_scroll(page)
        page.screenshot(path=_path(screenshot, f"sign-in-after-{locale}"), full_page=True)
        # The notice page on the phone: the attendance list, every invitee with a status.
        page.goto(f"/notices/{scene['notice']}#attendance")
        rows = page.locator("#attendance-list tbody tr")
        assert rows.count() == 5
        statuses = {rows.nth(i).get_attribute("data-status") for i in range(5)}
        assert statuses == {"attended", "leave", "absent"}
        assert page.text_content("#att-attended") == "1" and page.text_content("#att-absent") == "3"
        page.screenshot(path=_path(screenshot, f"notice-phone-{locale}"), full_page=True)
        # The duty records read on the phone too: wide tables scroll inside their card, the page does not.
        page.goto("/duty-records/")
        assert page.locator("#records-chart").is_visible() and _no_sideways_scroll(page)
        page.screenshot(path=_path(screenshot, f"duty-records-phone-{locale}"), full_page=True)
    finally:
        context.close()


def _path(screenshot, name):
    """Where the screenshot fixture keeps `name` (the same folder), for element and phone shots."""
    import os

    return os.path.join(os.path.dirname(screenshot("_")), f"{name}.png")


@pytest.mark.parametrize("locale", LOCALES)
def test_suggestion_and_duty_record(app, page, scene, locale, screenshot):
    words = WORDS[locale]
    log_in(page, scene["composer"])
    page.goto(f"/suggestions/{scene['suggestion']}")
    assert words["assigned"] in page.text_content("#suggestion-status")
    assert "县交通运输局" in page.text_content("#suggestion-organ")
    page.fill("#answer", "已将东山村公交站纳入明年线路调整计划。")
    page.click("#record-answer")
    page.wait_for_selector("#suggestion-answer")
    screenshot(f"suggestion-{locale}")
    page.goto("/suggestions/")
    screenshot(f"suggestions-{locale}")
    page.goto("/duty-records/")
    assert words["chart"] in page.inner_text("#records-chart-card")
    assert page.locator("#records-chart rect").count() >= 3
    group = page.locator("#records-groups tr[data-group='城关代表小组'] td")
    assert group.nth(1).inner_text() == "3"
    screenshot(f"duty-records-{locale}")
    with page.expect_download() as download:
        page.click("#export-records")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.goto(f"/duty-records/deputy/{scene['qian']}")
    assert page.text_content("#rec-suggestions") == "1" and page.text_content("#rec-suggestions_answered") == "1"
    assert words["record"] in page.inner_text("h2")
    screenshot(f"duty-record-{locale}")
