"""The compose page's deputy picker and the paged lists (issue 15 item 4) in a real browser, in
Chinese and in English: search as you type (pinyin, name), keyboard choice, removing one, the
preview counting the chosen, the draft showing them again, a phone-width screen; the notice list
and the inbox's "older"/"newer" links. Screenshots also go to /work/shots/pages/."""
import os
import re
import shutil
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from notifier.extensions import db
from notifier.replies.models import InboundMessage
from notifier.roster.service import create_deputy
from notifier.timeutil import utcnow
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import add_deputies
from tests.notices.test_list_pages import add_notices

pytestmark = pytest.mark.browser
LOCALES = ["zh_Hans_CN", "en"]
SHOTS = "/work/shots/pages"
WORDS = {"zh_Hans_CN": {"none": "没有匹配的代表。", "older": "更早", "newer": "较新", "chosen": "已选"},
         "en": {"none": "No deputy matches.", "older": "Older", "newer": "Newer", "chosen": "chosen"}}


def shot(screenshot, name):
    path = screenshot(name)
    if os.path.isdir(os.path.dirname(SHOTS)):
        os.makedirs(SHOTS, exist_ok=True)
        shutil.copy(path, os.path.join(SHOTS, f"{name}.png"))


@pytest.fixture
def people(app):
    with app.app_context():
        add_deputies(30, levels=("county",))
        ids = {name: create_deputy({"name": name, "phone": phone, "levels": ["county"]}).id
               for name, phone in (("张三", "+8613800138000"), ("张伟", "+8613800138001"), ("李四", "+8613911112222"))}
        db.session.remove()
    return ids


def chosen(page):
    return page.locator("#chosen-deputies .chosen-label").all_inner_texts()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_picker_finds_chooses_and_keeps_deputies(app, page, screenshot, people, locale):
    composer = add_user(app, f"composer-{locale}", "composer", locale=locale)
    log_in(page, composer.username)
    page.goto("/notices/new")
    assert page.locator("#deputy-results [role=option]").count() == 0 and chosen(page) == []
    expect(page.locator("#pv-recipients")).to_have_text("0")
    # Pinyin, then the keyboard: Down moves to 张伟, Enter chooses it (and does not submit the form).
    page.fill("#deputy-search", "zhang")
    options = page.locator("#deputy-results [role=option]")
    expect(options).to_have_count(2)
    assert options.all_inner_texts() == ["张三 138 0013 8000", "张伟 138 0013 8001"]
    assert page.get_attribute("#deputy-search", "aria-expanded") == "true"
    page.press("#deputy-search", "ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.press("#deputy-search", "Enter")
    assert "/notices/new" in page.url
    expect(page.locator("#chosen-deputies .chosen-label")).to_have_text(["张伟 138 0013 8001"])
    assert page.input_value("#deputy-search") == "" and page.evaluate("document.activeElement.id") == "deputy-search"
    expect(page.locator("#deputy-results")).to_be_hidden()
    # By name, with the mouse; one already chosen says so.
    page.type("#deputy-search", "李")
    expect(options).to_have_count(1)
    options.first.click()
    page.fill("#deputy-search", "张")
    expect(options).to_have_count(2)
    expect(options.nth(1)).to_contain_text(WORDS[locale]["chosen"])
    shot(screenshot, f"picker-results-{locale}")
    page.press("#deputy-search", "Escape")
    expect(page.locator("#deputy-results")).to_be_hidden()
    expect(page.locator("#pv-recipients")).to_have_text("2")  # the preview counts the chosen ones
    page.fill("#deputy-search", "无此人")
    expect(page.locator("#deputy-search-status")).to_have_text(WORDS[locale]["none"])
    page.fill("#deputy-search", "")
    # Removing one: the preview follows.
    page.click(f"#chosen-deputies li[data-id='{people['张伟']}'] .remove-deputy")
    assert chosen(page) == ["李四 139 1111 2222"]
    expect(page.locator("#pv-recipients")).to_have_text("1")
    page.fill("#deputy-search", "zhang san")
    expect(options).to_have_count(1)
    page.press("#deputy-search", "Enter")
    expect(page.locator("#chosen-deputies .chosen-label")).to_have_text(["李四 139 1111 2222", "张三 138 0013 8000"])
    expect(page.locator("#pv-recipients")).to_have_text("2")
    shot(screenshot, f"picker-chosen-{locale}")
    # Saved as a draft, the edit page shows them again by name.
    page.fill("input[name=title]", "个别代表通知")
    page.fill("textarea[name=body]", "{name}代表：请回电。")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    page.goto(page.url + "/edit")
    assert sorted(chosen(page)) == sorted(["李四 139 1111 2222", "张三 138 0013 8000"])
    expect(page.locator("#pv-recipients")).to_have_text("2")
    shot(screenshot, f"picker-draft-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_picker_on_a_phone(app, page, screenshot, people, locale):
    composer = add_user(app, f"composer-{locale}", "composer", locale=locale)
    page.set_viewport_size({"width": 375, "height": 760})
    log_in(page, composer.username)
    page.goto("/notices/new")
    page.locator("#deputy-search").scroll_into_view_if_needed()
    page.fill("#deputy-search", "代表")
    options = page.locator("#deputy-results [role=option]")
    expect(options).to_have_count(20)  # at most 20: typing more narrows it
    expect(page.locator("#deputy-results .deputy-more")).to_be_visible()
    box = page.locator("#deputy-results").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the screen
    shot(screenshot, f"picker-phone-{locale}")
    options.nth(2).click()
    expect(page.locator("#chosen-deputies .chosen-label")).to_have_count(1)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_lists_page_older_and_newer(app, page, screenshot, locale):
    viewer = add_user(app, f"viewer-{locale}", "viewer", locale=locale)
    with app.app_context():
        ids = add_notices(60, [viewer.id])  # a page of 50 and one of 10
        deputies = add_deputies(3)
        now = utcnow().replace(microsecond=0)
        db.session.execute(insert(InboundMessage), [
            {"gateway_id": f"SM-b-{i}", "from_number": f"+86139{i % 3:08d}", "to_number": "+15005550006",
             "body": f"收到 {i}", "received_at": now - timedelta(seconds=i // 4), "deputy_id": deputies[i % 3],
             "kind": "text"} for i in range(130)])
        db.session.commit()
        db.session.remove()
    log_in(page, viewer.username)
    page.goto("/notices/")
    expect(page.locator("#notice-list tbody tr")).to_have_count(50)
    page.click("#pager-older")
    expect(page.locator("#notice-list tbody tr")).to_have_count(10)
    assert re.search(r"older=[A-Za-z0-9_-]+$", page.url)
    assert page.locator("#pager-older").count() == 0
    expect(page.locator("#pager-newer")).to_contain_text(WORDS[locale]["newer"])
    shot(screenshot, f"notices-older-{locale}")
    page.click("#pager-newer")
    expect(page.locator("#notice-list tbody tr")).to_have_count(50)
    assert page.locator("#notice-list tbody tr").first.get_attribute("data-notice-id") == str(max(ids[:4]))  # four share the newest time
    page.goto("/replies/")
    expect(page.locator("#inbox tbody tr")).to_have_count(100)
    expect(page.locator("#pager-older")).to_contain_text(WORDS[locale]["older"])
    page.click("#pager-older")
    expect(page.locator("#inbox tbody tr")).to_have_count(30)
    shot(screenshot, f"inbox-older-{locale}")
