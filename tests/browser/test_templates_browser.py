"""Aliyun templates in a real browser, in Chinese and English: registering a template, composing a
notice from it (a field per variable, live length against the 35-character rule, the text with
the signature and its segments), and the server refusing a variable that is too long."""
import os
import re

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.notices.models import Notice, SmsTemplate
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import add_deputies

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ALIYUN_SHOTS", "/work/shots/aliyun")
TEXT = "${name}代表您好，${content}请回复1确认。#${code}"
WORDS = {"zh_Hans_CN": {"registered": "已登记", "too_long": "最多 35 个字"},
         "en": {"registered": "is registered", "too_long": "At most 35 characters"}}


def shot(page, name):
    if os.path.isdir(os.path.dirname(SHOTS)):
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_register_a_template_and_compose_from_it(app, page, live_server, locale):
    app.config["ALIYUN_SMS_SIGN_NAME"] = "县人大常委会"
    with app.app_context():
        add_deputies(3, levels=("county",))
        db.session.remove()
    composer = add_user(app, f"composer-{locale}", "composer", locale=locale)
    log_in(page, composer.username)
    page.goto("/templates/")
    page.fill("input[name=code]", "SMS_480000001")
    page.fill("input[name=name]", "会议通知")
    page.fill("textarea[name=text]", "【县人大】" + TEXT)
    page.click("#template-save")
    assert page.locator(".field-error").count() == 1  # the signature does not belong in the text
    page.fill("textarea[name=text]", TEXT)
    page.click("#template-save")
    assert WORDS[locale]["registered"] in page.text_content("body")
    assert page.locator("#sms-templates tr[data-code=SMS_480000001]").count() == 1
    shot(page, f"templates-{locale}")

    page.goto("/notices/new")
    page.select_option("select[name=template]", "SMS_480000001")
    page.wait_for_url(re.compile(r"template=SMS_480000001"))
    assert page.locator("textarea[name=body]").count() == 0
    page.fill("input[name=title]", "常委会会议通知")
    page.check("input[name=levels][value=county]")
    page.fill("#param-content", "周五上午九时在三楼会议室开常委会，")
    page.wait_for_function("document.getElementById('pv-example').textContent.indexOf('周五上午九时') > 0", timeout=45000)
    example = page.text_content("#pv-example")
    # The code it will carry: the one the reply-code row shows (not an invented one).
    code = page.text_content("#pv-code")
    assert re.fullmatch(r"#\d+", code) and example.startswith("【县人大常委会】张三代表您好，周五上午九时")
    assert example.endswith(code)
    assert page.text_content("#pv-segments") == "1" and page.text_content("#count-content") == "17 / 35"
    page.wait_for_function("document.getElementById('pv-recipients').textContent === '3'", timeout=45000)
    assert page.text_content("#pv-total") == "3"
    shot(page, f"compose-template-{locale}")
    page.fill("#param-content", "请各位代表于本周五上午九时到县人大常委会三楼会议室参加常委会第二十次会议并做好发言准备，")
    page.wait_for_function("document.getElementById('count-content').classList.contains('text-danger')")
    page.click("#save-draft")
    error = page.text_content("#group-param-content .field-error")
    assert WORDS[locale]["too_long"] in error
    shot(page, f"compose-template-too-long-{locale}")
    page.fill("#param-content", "周五上午九时开常委会，")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    with app.app_context():
        notice = db.session.scalar(select(Notice).order_by(Notice.id.desc()))
        template = db.session.scalar(select(SmsTemplate))
        assert notice.template_id == template.id and notice.template_params == {"content": "周五上午九时开常委会，"}
