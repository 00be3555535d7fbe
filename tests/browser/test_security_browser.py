"""The security changes as a person meets them in Debian's chromium, in Chinese and in English:
why each reply was read as it was (取消 to an invitation declines), an inbox viewers may read but
not mark, a new password that logs the other browser out, masked numbers on the roster and its
edit form, and a notice its last editor cannot approve. Screenshots under test-artifacts/<test>/."""
import pytest
from playwright.sync_api import expect

from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import dispatch_notice
from notifier.replies.service import receive
from notifier.reports.masking import set_masked_roles
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import add_deputies, notice_data, user
from tests.roster.files import BROKEN_FILES

pytestmark = pytest.mark.browser
LOCALES = ["zh_Hans_CN", "en"]
T = {
    "zh_Hans_CN": {"declined": "请假/不参加", "why": "“取消”也可表示退订", "digit": "以 1 开头",
                   "ended": "您的会话已结束，请重新登录。", "changed": "密码已修改", "readonly": "只有可查看完整号码的角色",
                   "edited": "已修改", "field": "短信内容", "four_eyes": "此通知最后一次由您修改，须由另一位审批人审批。"},
    "en": {"declined": "Declined", "why": "“取消” can also mean unsubscribe", "digit": "It starts with 1",
           "ended": "Your session has ended. Please log in again.", "changed": "Your password is changed",
           "readonly": "Only roles that see full numbers", "edited": "Edited", "field": "Text",
           "four_eyes": "You made the last change to this notice; another approver must approve it."},
}


def _people(app, locale, *roles):
    with app.app_context():
        made = [add_user(app, f"{role}-{locale}", role, locale=locale) for role in roles]
        db.session.remove()
    return made


@pytest.mark.parametrize("locale", LOCALES)
def test_the_inbox_says_why_and_viewers_cannot_mark(app, page, screenshot, locale):
    composer, approver, viewer = _people(app, locale, "composer", "approver", "viewer")
    with app.app_context():
        add_deputies(2, levels=("county",))
        notice = workflow.create_notice(notice_data(category="meeting", reply="confirm"), user(composer))
        workflow.submit(notice, user(composer))
        workflow.approve(notice, user(approver))
        dispatch_notice(notice.id)
        receive({"MessageSid": "SM" + "1" * 32, "From": "+8613900000000", "To": "+15005550006", "Body": "取消"})
        receive({"MessageSid": "SM" + "2" * 32, "From": "+8613900000001", "To": "+15005550006", "Body": "1 收到"})
        db.session.remove()
    words = T[locale]
    log_in(page, viewer.username)
    page.goto("/replies/")
    cancel = page.locator("#inbox tbody tr", has_text="取消")
    expect(cancel.locator(".inbox-kind")).to_have_text(words["declined"])
    expect(cancel.locator(".inbox-reason")).to_contain_text(words["why"])
    expect(page.locator("#inbox tbody tr", has_text="1 收到").locator(".inbox-reason")).to_contain_text(words["digit"])
    expect(page.locator("#mark-handled")).to_have_count(0)  # viewers read, staff handle
    screenshot(f"inbox-reasons-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_new_password_logs_the_other_browser_out(app, browser, live_server, page, screenshot, locale):
    (composer,) = _people(app, locale, "composer")
    words = T[locale]
    other = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
    log_in(other, composer.username)
    log_in(page, composer.username)
    page.click("#user-menu")
    screenshot(f"1-user-menu-{locale}")
    page.click("#change-password")
    page.fill("input[name=current_password]", "correct-horse-42")
    page.fill("input[name=new_password]", "another-horse-43")
    page.fill("input[name=confirm]", "another-horse-43")
    screenshot(f"2-change-password-{locale}")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    expect(page.locator(".alert-success")).to_contain_text(words["changed"])
    screenshot(f"3-changed-{locale}")

    other.goto("/notices/")
    assert "/login" in other.url
    expect(other.locator(".alert")).to_contain_text(T["zh_Hans_CN"]["ended"])  # before logging in: the default
    other.context.close()

    page.click("#user-menu")
    with page.expect_navigation():
        page.click("#logout-everywhere")
    assert "/login" in page.url


@pytest.mark.parametrize("locale", LOCALES)
def test_masked_numbers_on_the_roster_and_its_edit_form(app, page, screenshot, locale):
    admin, composer = _people(app, locale, "admin", "composer")
    with app.app_context():
        (deputy_id,) = add_deputies(1, levels=("county",))
        set_masked_roles(["composer"], user(admin))
        db.session.commit()
        db.session.remove()
    log_in(page, composer.username)
    page.goto("/deputies/")
    expect(page.locator("td.col-phone").first).to_have_text("+86 139****0000")
    screenshot(f"1-roster-masked-{locale}")
    page.goto(f"/deputies/edit/?id={deputy_id}")
    phone = page.locator("input[name=phone]")
    expect(phone).to_have_value("+86 139****0000")
    expect(phone).to_have_attribute("readonly", "")
    expect(page.locator("form.admin-form")).to_contain_text(T[locale]["readonly"])
    screenshot(f"2-edit-masked-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_last_editor_sees_no_approve_button(app, page, screenshot, locale):
    composer, approver = _people(app, locale, "composer", "approver")
    with app.app_context():
        add_deputies(2, levels=("county",))
        notice = workflow.create_notice(notice_data(), user(composer))
        workflow.update_notice(notice, {"body": "{name}代表：会议改到本周六上午九时。"}, user(approver))
        workflow.submit(notice, user(approver))
        notice_id = notice.id
        db.session.remove()
    log_in(page, approver.username)
    page.goto(f"/notices/{notice_id}")
    expect(page.locator("#btn-approve")).to_have_count(0)
    expect(page.locator("#four-eyes")).to_have_text(T[locale]["four_eyes"])
    edit = page.locator("#notice-history li[data-action='notice.update']")
    expect(edit).to_contain_text(T[locale]["edited"])
    expect(edit).to_contain_text(T[locale]["field"])
    screenshot(f"notice-edited-by-approver-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_damaged_roster_file_gets_a_clear_error(app, page, screenshot, tmp_path, locale):
    (composer,) = _people(app, locale, "composer")
    data, _name = BROKEN_FILES["xlsx-broken-sheet-xml"]
    path = tmp_path / "代表名单.xlsx"
    path.write_bytes(data)
    log_in(page, composer.username)
    page.goto("/roster/import/")
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.click("#upload")
    expect(page.locator(".file-error")).to_have_text(
        {"zh_Hans_CN": "该 Excel 文件已损坏，部分内容无法读取。请用 Excel 打开，重新另存为 .xlsx 后再上传。",
         "en": "The Excel file is damaged: part of it cannot be read. Open it in Excel, save it again as .xlsx "
               "and upload that."}[locale])
    screenshot(f"import-damaged-{locale}")
