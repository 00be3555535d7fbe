"""The security administrator's page in Debian's chromium, in Chinese and in English: a locked
account unlocked with one button, roles given from the list, and the policy form. Screenshots
under test-artifacts/<test>/ and /work/shots/mlps."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from notifier.accounts.models import User
from notifier.extensions import db
from notifier.timeutil import utcnow
from tests.browser.conftest import log_in
from tests.browser.test_two_factor_browser import _keep
from tests.conftest import add_user

pytestmark = pytest.mark.browser
T = {"zh_Hans_CN": {"title": "安全管理", "unlocked": "已解锁", "policy": "安全策略"},
     "en": {"title": "Security", "unlocked": "is unlocked", "policy": "Security policy"}}


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_security_page_unlocks_and_shows_the_policy(app, page, screenshot, locale):
    officer = add_user(app, f"anquan-{locale}", "security_admin", locale=locale)
    locked = add_user(app, f"locked-{locale}", "composer")
    with app.app_context():
        db.session.get(User, locked.id).locked_until = utcnow() + timedelta(minutes=10)
        db.session.commit()
        db.session.remove()
    log_in(page, officer.username)
    page.wait_for_url("**/security/")
    words = T[locale]
    expect(page.locator("h2")).to_have_text(words["title"])
    expect(page.locator("h3")).to_have_text(words["policy"])
    row = page.locator(f'tr[data-user="{locked.username}"]')
    expect(row.locator(".locked .badge-danger")).to_be_visible()
    _keep(screenshot(f"security-{locale}"))
    with page.expect_navigation():
        row.locator("button.unlock").click()
    expect(page.locator(".alert-success")).to_contain_text(words["unlocked"])
    expect(page.locator(f'tr[data-user="{locked.username}"] .locked .badge-danger')).to_have_count(0)
    with app.app_context():
        assert db.session.get(User, locked.id).locked_until is None
