"""Browser tests: the real app served over HTTP in a thread, driven by Debian's chromium through
Playwright (never a downloaded browser). Screenshots go to $TEST_ARTIFACTS (test-artifacts/)."""
import os
import re
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, totp_code

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = os.environ.get("TEST_ARTIFACTS") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "test-artifacts"
)

pytestmark = pytest.mark.browser


_LIVE = {}


@pytest.fixture(scope="session")
def live_server(app):
    _LIVE["app"] = app  # log_in reads a user's TOTP secret from its database
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request):
    """screenshot("name") saves a full-page PNG under test-artifacts/<test name>/."""
    folder = os.path.join(ARTIFACTS, re.sub(r"[^\w.-]+", "_", request.node.name))
    os.makedirs(folder, exist_ok=True)

    def take(name):
        path = os.path.join(folder, f"{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take


def log_in(page, username, password=PASSWORD, url="", totp_secret=None):
    """Log in through the real login page (of the server at `url`, else the page's base URL),
    and through the second step where the role needs one: the code is computed like an
    authenticator app would, from `totp_secret` or the secret stored for the user."""
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)
    if "/two-factor" in page.url:
        page.wait_for_selector("input[name=code]")
        if totp_secret:
            import pyotp

            code = pyotp.TOTP(totp_secret).now()
        else:
            code = totp_code(_LIVE["app"], username)
        page.fill("input[name=code]", code)
        page.click("button[type=submit]")
        if page.locator("#recovery-codes").count():
            page.click("#continue")
        page.wait_for_url(lambda u: "/two-factor" not in u)


@pytest.fixture
def browser_login(page):
    """browser_login(user) logs in through the real login page."""

    def do(user, password=PASSWORD):
        log_in(page, user.username, password)
        return page

    return do
