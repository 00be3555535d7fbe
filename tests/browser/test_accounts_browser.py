"""Browser tests of the account pages: the login page (wrong password, its own language switch),
users, API tokens (the plaintext shown once) and the audit trail with the roster import in it;
each in Chinese (the default) and in English, which the navbar menu keeps on the user.
"""
import re

import pytest
from playwright.sync_api import expect

from notifier.extensions import db as _db
from tests.browser.conftest import log_in
from tests.browser.test_roster_browser import (  # noqa: F401 (fixtures used by name)
    CLEAN,
    LANGS,
    import_dir,
    logged_in,
    user_locale,
    xlsx_bytes,
)
from tests.conftest import PASSWORD, add_user

pytestmark = pytest.mark.browser

T = {
    "zh": {
        "title": "人大短信平台", "username": "用户名", "password": "密码", "login": "登录",
        "wrong": "用户名或密码错误。", "deputies": "代表名单", "admin_role": "系统管理员", "approver_role": "审批人",
        "users": "用户", "issue": "签发令牌", "issued": "API 令牌已签发", "copy": "请立即复制此令牌",
        "audit": "审计日志",
    },
    "en": {
        "title": "Deputy SMS Platform", "username": "Username", "password": "Password", "login": "Log in",
        "wrong": "Wrong username or password.", "deputies": "Deputies", "admin_role": "System administrator",
        "approver_role": "Approver", "users": "Users", "issue": "Issue a token", "issued": "API token issued",
        "copy": "Copy this token now", "audit": "Audit trail",
    },
}
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_login_page_wrong_password_and_language(page, make_user, screenshot):
    user = make_user("viewer")
    page.goto("/login")
    for lang in LANGS:
        t = T[lang]
        if lang == "en":  # the login page's own switch
            with page.expect_navigation():
                page.click("button[name=locale][value=en]")
            expect(page.locator("html")).to_have_attribute("lang", "en")
        else:  # Chinese before anyone chooses
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("h1")).to_have_text(t["title"])
        expect(page.locator("label[for=username]")).to_have_text(t["username"])
        expect(page.locator("label[for=password]")).to_have_text(t["password"])
        expect(page.locator("form.card button[type=submit]")).to_have_text(t["login"])

        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "not-the-password")
        with page.expect_navigation():
            page.click("form.card button[type=submit]")
        expect(page.locator(".alert-danger")).to_have_text(t["wrong"])
        assert "/login" in page.url
        screenshot(f"wrong-password-{lang}")
    assert not HAN.search(page.locator("main").inner_text().replace("简体中文", ""))

    # The right password: in, and the language chosen on the login page carries on.
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form.card button[type=submit]")
    assert "/login" not in page.url
    expect(page.locator("nav.navbar")).to_contain_text(T["en"]["deputies"])


@pytest.mark.parametrize("lang", LANGS)
def test_users_tokens_and_audit_pages(lang, page, browser, live_server, logged_in, screenshot, app):  # noqa: F811
    from notifier.accounts.models import User
    from notifier.roster.importer import apply_import

    t = T[lang]
    admin = logged_in("admin", lang)
    with app.app_context():  # an import by this admin, for the audit trail
        apply_import(xlsx_bytes(CLEAN), "代表名单.xlsx", actor=_db.session.get(User, admin.id))
        _db.session.remove()

    # Users: the list with role labels in the language; a new user through the form.
    page.goto("/users/")
    row = page.locator("tr", has=page.locator("td.col-username", has_text=admin.username))
    expect(row.locator("td.col-role")).to_have_text(t["admin_role"])
    page.goto("/users/new/")
    # (A short password is stopped by the browser itself: the field has minlength.)
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=display_name]", "审批人甲")
    page.select_option("select[name=role]", "approver")
    page.fill("input[name=password]", "long-enough-42")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    expect(page.locator("form.admin-form")).to_contain_text(
        {"zh": "该用户名已被占用", "en": "This username is already taken."}[lang]
    )
    screenshot(f"1-user-form-error-{lang}")
    page.fill("input[name=username]", "shenpi")
    page.fill("input[name=password]", "long-enough-42")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    page.goto("/users/")
    row = page.locator("tr", has=page.locator("td.col-username", has_text="shenpi"))
    expect(row.locator("td.col-role")).to_have_text(t["approver_role"])
    screenshot(f"2-users-{lang}")

    # API tokens: issue one; the plaintext is on that page only, and it works.
    page.goto("/tokens/")
    with page.expect_navigation():
        page.click("#issue-token")
    owner = page.locator("select[name=user_id] option", has_text="shenpi").get_attribute("value")
    page.select_option("select[name=user_id]", owner)
    page.fill("input[name=name]", "办公自动化系统")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    expect(page.locator("h2")).to_have_text(t["issued"])
    expect(page.locator(".alert-warning")).to_contain_text(t["copy"])
    plaintext = page.locator("#plaintext-token").input_value()
    assert plaintext.startswith("ntf_") and len(plaintext) > 30
    screenshot(f"3-token-issued-{lang}")
    response = page.request.get("/api/v1/deputies", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status == 200 and len(response.json()["items"]) == len(CLEAN) - 1
    page.goto("/tokens/")
    expect(page.locator("table.model-list")).to_contain_text("办公自动化系统")
    assert plaintext not in page.content()

    # The audit trail, read by the audit administrator (三员分立: not the system administrator's):
    # the import, the new user and the token, newest first, by this admin.
    page.goto("/audit/")
    expect(page.locator("body")).to_contain_text({"zh": "无权访问", "en": "No access"}[lang])
    auditor = add_user(app, f"shenji-{lang}", "auditor", locale="en" if lang == "en" else None)
    audit_context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = audit_context.new_page()
    log_in(page, auditor.username)
    page.wait_for_url("**/audit/")
    actions = page.locator("td.col-action span[data-action]").evaluate_all("els => els.map(e => e.dataset.action)")
    assert {"roster.import", "user.create", "token.issue"} <= set(actions), actions
    assert actions.index("token.issue") < actions.index("user.create") < actions.index("roster.import")
    import_row = page.locator("tr", has=page.locator('span[data-action="roster.import"]'))
    # Actions read as words in the page's language, not as codes.
    expect(import_row.locator("td.col-action")).to_have_text({"zh": "导入代表名单", "en": "Imported the roster"}[lang])
    expect(import_row.locator("td.col-actor")).to_have_text(admin.username)
    # Details as a readable list in the reader's words, not JSON.
    expect(import_row.locator("td.col-detail")).to_contain_text({"zh": "新增代表: 5", "en": "Deputies added: 5"}[lang])
    expect(import_row.locator("td.col-detail")).to_contain_text("代表名单.xlsx")
    expect(page.locator("table.model-list thead")).to_contain_text({"zh": "操作", "en": "Action"}[lang])
    screenshot(f"4-audit-{lang}")
    audit_context.close()

    # The language is kept on the account: a fresh browser session opens in it.
    assert user_locale(app, admin.id) == ("en" if lang == "en" else None)
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    try:
        other = context.new_page()
        log_in(other, admin.username)  # with its second step
        expect(other.locator("nav.navbar")).to_contain_text(t["deputies"])
    finally:
        context.close()
