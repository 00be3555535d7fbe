"""Two-step login as an administrator meets it in Debian's chromium, in Chinese and in English:
the QR code on the first login, the recovery codes shown once, then the second step at the next
login, where a wrong code is refused. Screenshots under test-artifacts/<test>/ and /work/shots/mlps."""
import os
import shutil

import pyotp
import pytest
from playwright.sync_api import expect

from notifier.accounts.models import User
from notifier.extensions import db
from tests.conftest import PASSWORD, add_user, totp_code

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("MLPS_SHOTS", "/work/shots/mlps")
T = {
    "zh_Hans_CN": {"enrol": "设置两步登录", "second": "第二步", "wrong": "验证码不正确"},
    "en": {"enrol": "Set up two-step login", "second": "Second step", "wrong": "That code is not right"},
}


def _keep(path):
    if os.path.isdir(os.path.dirname(SHOTS)):
        os.makedirs(SHOTS, exist_ok=True)
        shutil.copy(path, SHOTS)


def _password(page, username, locale):
    page.goto("/login")
    if locale == "en":
        page.click("button[name=locale][value=en]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/two-factor")


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_enrol_then_second_step(app, page, screenshot, locale):
    admin = add_user(app, f"admin-{locale}", "admin", locale=locale)
    words = T[locale]
    _password(page, admin.username, locale)
    expect(page.locator("h2")).to_have_text(words["enrol"])
    qr = page.locator("#totp-qr")
    expect(qr).to_be_visible()
    assert page.evaluate("document.getElementById('totp-qr').naturalWidth") > 100  # the image draws
    with app.app_context():
        secret = db.session.get(User, admin.id).totp_secret
        db.session.remove()
    expect(page.locator("#totp-secret")).to_have_text(secret)
    _keep(screenshot(f"enrol-{locale}"))

    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    expect(page.locator(".recovery-code")).to_have_count(8)
    _keep(screenshot(f"recovery-codes-{locale}"))
    page.click("#continue")
    page.wait_for_url(lambda url: "/two-factor" not in url)
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url("**/login")

    _password(page, admin.username, locale)
    expect(page.locator("h2")).to_have_text(words["second"])
    expect(page.locator("#totp-qr")).to_have_count(0)
    page.fill("input[name=code]", "12345")
    page.click("button[type=submit]")
    expect(page.locator("#code-error")).to_contain_text(words["wrong"])
    _keep(screenshot(f"second-step-wrong-{locale}"))
    page.fill("input[name=code]", totp_code(app, admin.username))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/two-factor" not in url)
    expect(page.locator("#user-menu")).to_be_visible()
