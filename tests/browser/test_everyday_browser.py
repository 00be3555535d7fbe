"""Everyday use (issue 16) in a real browser, in Chinese and in English: what an approver sees
before approving, the home page as the day's work, follow-ups on their notice, and the compose
form's errors. Screenshots are kept under test-artifacts/<test>/."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from notifier.accounts.models import User
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from notifier.timeutil import utcnow
from tests.browser.conftest import log_in
from tests.conftest import add_user
from tests.notices.conftest import add_deputies, notice_data

pytestmark = pytest.mark.browser
LOCALES = ["zh_Hans_CN", "en"]
WORDS = {
    "zh_Hans_CN": {"as": "代表0", "quiet": "静默时段", "opted_out": "已退订", "inactive": "停用"},
    "en": {"as": "代表0", "quiet": "quiet hours", "opted_out": "Opted out", "inactive": "Inactive"},
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


def submitted(app, author, **overrides):
    """A notice written and submitted by `author` through the workflow; its id."""
    with app.app_context():
        actor = db.session.get(User, author.id)
        notice = workflow.create_notice(notice_data(**overrides), actor)
        workflow.submit(notice, actor)
        notice_id = notice.id
        db.session.remove()
    return notice_id


@pytest.mark.parametrize("locale", LOCALES)
def test_approver_sees_what_will_go_out(app, page, screenshot, staff, roster, locale):
    composer, approver = staff("composer", locale), staff("approver", locale)
    notice_id = submitted(app, composer)
    log_in(page, approver.username)
    page.goto(f"/notices/{notice_id}")

    # The text as a real recipient gets it, not the template with its {name}.
    text = page.text_content("#outgoing-text")
    assert text.startswith("【县人大常委会】代表0代表：请于本周五") and "{name}" not in text
    assert "#10" in text  # the reply code it was given on submission
    assert WORDS[locale]["as"] in page.text_content("#outgoing-sample")
    assert page.text_content("#outgoing-recipients").strip() == "12"
    assert page.text_content("#outgoing-segments").strip().startswith("12")  # one segment each
    assert "Twilio (12)" in page.text_content("#outgoing-gateway")
    page.click("#outgoing-skipped summary")
    skipped = page.text_content("#outgoing-skipped")
    assert "代表100" in skipped and WORDS[locale]["opted_out"] in skipped
    assert "代表200" in skipped and WORDS[locale]["inactive"] in skipped
    # Nobody has been texted: no tally saying "0 recipients, all not replied".
    assert page.locator("#reply-tally").count() == 0
    # Approve and reject together; nothing else between them.
    assert page.locator("#decision #btn-approve").count() == 1
    assert page.locator("#decision #btn-reject-open").count() == 1
    screenshot(f"approval-{locale}")

    # Another recipient's text, one click away.
    page.click("#outgoing-others a:text('代表3')")
    page.wait_for_url(f"**/notices/{notice_id}?sample=*")
    assert page.text_content("#outgoing-text").startswith("【县人大常委会】代表3代表：")


@pytest.mark.parametrize("locale", LOCALES)
def test_approver_is_told_of_quiet_hours_and_cancel_stands_apart(app, page, screenshot, staff, roster, locale):
    composer, approver = staff("composer", locale), staff("approver", locale)
    zone = ZoneInfo(app.config["TIMEZONE"])
    tomorrow = (utcnow().astimezone(zone) + timedelta(days=1)).replace(hour=23, minute=0, second=0, microsecond=0)
    notice_id = submitted(app, composer, scheduled_at=tomorrow)
    before = app.config["QUIET_HOURS"]
    app.config["QUIET_HOURS"] = "22:00-07:00"
    try:
        log_in(page, approver.username)
        page.goto(f"/notices/{notice_id}")
        when = page.text_content("#outgoing-when")
        assert "22:00-07:00" in when and "07:00" in page.text_content("#outgoing-quiet")
        screenshot(f"approval-quiet-hours-{locale}")
        # The author, who may cancel, finds the cancel button away from the decision.
        context = page.context.browser.new_context(base_url=page.url.split("/notices")[0],
                                                   viewport={"width": 1400, "height": 900})
        other = context.new_page()
        log_in(other, composer.username)
        other.goto(f"/notices/{notice_id}")
        assert other.locator("#cancel-apart #btn-cancel").count() == 1
        assert other.locator("#decision").count() == 0  # the author does not decide on it
        context.close()
    finally:
        app.config["QUIET_HOURS"] = before
    with app.app_context():
        assert db.session.get(Notice, notice_id).status == "pending_approval"
        db.session.remove()


def _home_data(app, composer, approver):
    """Work of every kind: notices waiting, drafts, rejected, sending; unread replies; texts that
    failed or were not delivered; and national deputies, one of them inactive."""
    from notifier.delivery.models import Message
    from notifier.replies.models import InboundMessage

    with app.app_context():
        c, a = db.session.get(User, composer.id), db.session.get(User, approver.id)
        ids = add_deputies(4, levels=("national",), start=300)
        add_deputies(1, levels=("national",), start=310, active=False)
        for _ in range(2):
            submitted_notice = workflow.create_notice(notice_data(audience={"levels": ["national"]}), c)
            workflow.submit(submitted_notice, c)
        own = workflow.create_notice(notice_data(audience={"levels": ["national"]}, title="审批人自己写的"), a)
        workflow.submit(own, a)  # waiting, but not for this approver: another one decides
        for _ in range(3):
            workflow.create_notice(notice_data(audience={"levels": ["national"]}, title="草稿"), c)
        rejected = workflow.create_notice(notice_data(audience={"levels": ["national"]}, title="被驳回的"), c)
        workflow.submit(rejected, c)
        workflow.reject(rejected, a, "时间写错了")
        sending = workflow.create_notice(notice_data(audience={"levels": ["national"]}, title="发送中的"), c)
        sending.status = "sending"
        for i, status in enumerate(("failed", "failed", "undelivered", "delivered")):
            db.session.add(Message(notice_id=sending.id, deputy_id=ids[i], to=f"+8613900000{300 + i}", body="x",
                                   status=status))
        for i in range(4):
            db.session.add(InboundMessage(gateway_id=f"SM{i}", from_number="+8613900000300", body="1",
                                          deputy_id=ids[0], read_at=utcnow() if i == 0 else None))
        db.session.commit()
        db.session.remove()


EXPECTED = {"approvals": 2, "drafts": 3, "rejected": 1, "sending": 1, "unread": 3, "failed": 2, "undelivered": 1}
ROWS = {"approvals": "#approval-queue tbody tr[data-notice-id]", "drafts": "#notice-list tbody tr[data-notice-id]",
        "rejected": "#notice-list tbody tr[data-notice-id]", "sending": "#notice-list tbody tr[data-notice-id]",
        "unread": "tr[data-inbound-id]", "failed": "tr[data-message-id]", "undelivered": "tr[data-message-id]"}


@pytest.mark.parametrize("locale", LOCALES)
def test_home_page_is_the_days_work_and_its_counts_match_their_lists(app, browser, live_server, page, screenshot,
                                                                     staff, locale):
    composer, approver = staff("composer", locale), staff("approver", locale)
    _home_data(app, composer, approver)
    log_in(page, composer.username)
    page.goto("/")
    assert page.locator("#home-compose").count() == 1
    assert page.locator("#work-approvals").count() == 0  # a composer approves nothing
    screenshot(f"home-composer-{locale}")
    for key in ("drafts", "rejected", "sending", "unread", "failed", "undelivered"):
        page.goto("/")
        assert page.text_content(f"#work-{key} .work-count") == str(EXPECTED[key]), key
        page.click(f"#work-{key}")
        page.wait_for_load_state()
        assert page.locator(ROWS[key]).count() == EXPECTED[key], key

    # The national count and the list behind it: the inactive deputy is in neither.
    page.goto("/")
    assert page.text_content("#level-national a") == "4"
    page.click("#level-national a")
    page.wait_for_load_state()
    assert page.locator("table.model-list tbody tr td:has-text('代表30')").count() == 4
    assert page.locator("table.model-list tbody tr td:has-text('代表310')").count() == 0

    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    other = context.new_page()
    other.set_default_timeout(15000)
    log_in(other, approver.username)
    other.goto("/")
    assert other.text_content("#work-approvals .work-count") == "2"
    other.screenshot(path=screenshot(f"home-approver-{locale}").replace("home-approver", "home-approver-page"),
                     full_page=True)
    other.click("#work-approvals")
    other.wait_for_load_state()
    assert other.locator(ROWS["approvals"]).count() == 2
    context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_follow_ups_belong_to_their_notice_with_one_tally(app, page, screenshot, staff, locale):
    from notifier.notices.dispatch import dispatch_notice
    from notifier.replies.service import receive

    composer, approver = staff("composer", locale), staff("approver", locale)
    with app.app_context():
        add_deputies(5, levels=("county",))
        c, a = db.session.get(User, composer.id), db.session.get(User, approver.id)
        notice = workflow.create_notice(notice_data(reply_deadline=utcnow() + timedelta(days=2)), c)
        workflow.submit(notice, c)
        workflow.approve(notice, a)
        dispatch_notice(notice.id)
        notice_id = notice.id
        for i, (who, body) in enumerate([("+8613900000000", "1"), ("+8613900000001", "2 出差")]):
            receive({"MessageSid": f"SM{i:032d}", "From": who, "To": "+15005550006", "Body": body})
        db.session.remove()
    log_in(page, composer.username)
    page.goto(f"/notices/{notice_id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#btn-remind")
    page.wait_for_selector("#follow-ups li[data-kind='reminder']")
    assert page.url.endswith(f"/notices/{notice_id}")  # back on the notice, the reminder listed on it
    item = page.locator("#follow-ups li[data-kind='reminder']")
    assert "3" in item.inner_text() and item.locator("[data-status=approved]").count() == 1  # no second approval
    screenshot(f"follow-ups-listed-{locale}")

    # The reminder's own page: whose follow-up it is, and the original's one tally (the replies
    # already in are credited there, not "no reply yet" for everyone).
    item.locator("a").click()
    page.wait_for_selector("#follow-up-of")
    assert f"#{notice_id}" in page.text_content("#follow-up-of")
    assert page.text_content("#tally-confirmed") == "1" and page.text_content("#tally-none") == "3"
    with app.app_context():
        follow = db.session.scalars(db.select(Notice).where(Notice.parent_id == notice_id)).one()
        dispatch_notice(follow.id)
        # A deputy answers the reminder: it counts for the original.
        receive({"MessageSid": "SM" + "7" * 32, "From": "+8613900000002", "To": "+15005550006",
                 "Body": f"1 #{follow.reply_code}"})
        db.session.remove()
    page.reload()
    assert page.text_content("#tally-confirmed") == "2" and page.text_content("#tally-none") == "2"
    screenshot(f"follow-up-page-{locale}")


def _notice_count(app):
    with app.app_context():
        n = db.session.scalar(db.select(db.func.count()).select_from(Notice))
        db.session.remove()
        return n


@pytest.mark.parametrize("locale", LOCALES)
def test_failed_submissions_save_nothing_and_say_what_to_fix(app, page, screenshot, staff, roster, locale):
    composer = staff("composer", locale)
    log_in(page, composer.username)
    words = {"zh_Hans_CN": ("删去", "没有人会收到", "已过"), "en": ("Cut", "Nobody would receive", "passed")}[locale]

    # Too long: the error is at the text, says how much to cut, and the form stays filled.
    page.goto("/notices/new")
    page.fill("input[name=title]", "一份太长的通知")
    page.check("input[name=levels][value=county]")
    long_body = "请各位代表准时出席会议。" * 70  # 840 characters: over the 10 segments (670) allowed
    page.fill("textarea[name=body]", long_body)
    page.click("#save-submit")
    page.wait_for_selector("#group-body .field-error")
    error = page.text_content("#group-body .field-error")
    assert words[0] in error and any(ch.isdigit() for ch in error)
    assert page.input_value("textarea[name=body]") == long_body
    assert page.input_value("input[name=title]") == "一份太长的通知"
    assert page.is_checked("input[name=levels][value=county]")
    assert _notice_count(app) == 0
    screenshot(f"compose-too-long-{locale}")

    # No audience, and a time already past: each at its field; still nothing saved.
    page.fill("textarea[name=body]", "请各位代表准时出席会议。")
    page.uncheck("input[name=levels][value=county]")
    page.fill("input[name=scheduled_at]", "2020-01-01T09:00")
    page.click("#save-submit")
    page.wait_for_selector("#group-levels .field-error")
    assert words[1] in page.text_content("#group-levels .field-error")
    assert words[2] in page.text_content("#group-scheduled_at .field-error")
    assert _notice_count(app) == 0
    screenshot(f"compose-no-audience-past-{locale}")

    # Put right, it is saved and submitted once.
    page.check("input[name=levels][value=county]")
    page.fill("input[name=scheduled_at]", "")
    page.click("#save-submit")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert _notice_count(app) == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_history_and_audit_trail_in_words(app, page, screenshot, staff, locale):
    from notifier.delivery.models import Message, MessageEvent
    from notifier.notices.dispatch import dispatch_notice
    from notifier.replies import reminders
    from notifier.reports import export

    composer, approver = staff("composer", locale), staff("approver", locale)
    admin = add_user(app, f"admin-{locale}", "admin", locale=locale, display_name="王主任")
    with app.app_context():
        add_deputies(3, levels=("county",))
        c, a = db.session.get(User, composer.id), db.session.get(User, approver.id)
        notice = workflow.create_notice(notice_data(reply_deadline=utcnow() + timedelta(days=2)), c)
        workflow.submit(notice, c)
        workflow.approve(notice, a)
        dispatch_notice(notice.id)
        reminders.remind(notice, c)
        export.record_export("notice", "xlsx", db.session.get(User, admin.id), target=notice)
        message = db.session.scalars(db.select(Message).where(Message.notice_id == notice.id)).first()
        db.session.add(MessageEvent(message_id=message.id, kind="callback", status="delivered", source="callback",
                                    raw={"MessageStatus": "delivered", "Body": "【县人大常委会】请于本周五", "To": "+8613900000000"}))
        db.session.commit()
        notice_id, message_id = notice.id, message.id
        db.session.remove()

    log_in(page, admin.username)
    page.goto(f"/notices/{notice_id}")
    history = page.inner_text("#notice-history")
    for code in ("notice.remind", "export.notice", "notice.", "{", "reminder_id", "follow-up repeats"):
        assert code not in history, code
    assert "王主任" in history  # people by their display name
    screenshot(f"history-in-words-{locale}")

    # The audit trail is the audit administrator's to read (三员分立).
    auditor = add_user(app, f"auditor-{locale}", "auditor", locale=locale)
    page.context.clear_cookies()
    log_in(page, auditor.username)
    page.goto("/audit/")
    trail = page.inner_text("table.model-list")
    for code in ("export.notice", "notice.remind", "{", "\"format\"", "reminder_id"):
        assert code not in trail, code
    assert "王主任" in trail and "Excel (XLSX)" in trail
    screenshot(f"audit-trail-in-words-{locale}")

    # The gateway's raw callback stays folded, its characters readable.
    page.context.clear_cookies()
    log_in(page, admin.username)
    page.goto(f"/messages/{message_id}")
    raw = page.locator("details.raw-callback").first
    assert not raw.evaluate("d => d.open")
    raw.locator("summary").click()
    body = raw.inner_text()
    assert "【县人大常委会】请于本周五" in body and "\\u" not in body
    screenshot(f"raw-callback-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_undelivered_texts_call_list_resend_and_no_reminder_to_dead_numbers(app, page, screenshot, staff, locale):
    import io

    import openpyxl
    from sqlalchemy import update

    from notifier.delivery.models import Message
    from notifier.notices.dispatch import dispatch_notice

    composer, approver = staff("composer", locale), staff("approver", locale)
    with app.app_context():
        ids = add_deputies(4, levels=("county",))
        c, a = db.session.get(User, composer.id), db.session.get(User, approver.id)
        notice = workflow.create_notice(notice_data(reply_deadline=utcnow() + timedelta(days=2)), c)
        workflow.submit(notice, c)
        workflow.approve(notice, a)
        dispatch_notice(notice.id)
        now = utcnow()
        for deputy_id, status, code in ((ids[0], "failed", "30005"), (ids[1], "undelivered", "30003"),
                                        (ids[2], "delivered", None)):
            db.session.execute(update(Message).where(Message.notice_id == notice.id, Message.deputy_id == deputy_id)
                               .values(status=status, error_code=code, sent_at=now - timedelta(minutes=2),
                                       failed_at=now if status != "delivered" else None,
                                       delivered_at=now if status == "delivered" else None))
        db.session.commit()
        notice_id = notice.id
        undelivered_id = db.session.scalar(db.select(Message.id).where(Message.deputy_id == ids[1]))
        db.session.remove()

    log_in(page, composer.username)
    page.goto(f"/notices/{notice_id}")
    assert page.text_content("#not-reached-count") == "2"
    rows = page.locator("#not-reached tr[data-message-id]")
    assert rows.count() == 2 and page.locator("#not-reached .badge-dark").count() == 1  # 30005: no such number
    assert "139 0000 0000" in page.inner_text("#not-reached")  # numbers as the roster writes them
    assert "139 0000 0003" in page.inner_text("#recipients") and "+86139" not in page.inner_text("#recipients")
    screenshot(f"not-reached-{locale}")

    page.click("#not-reached-print")
    page.wait_for_selector("#not-reached-list")
    assert page.locator("#not-reached-list tr[data-message-id]").count() == 2
    screenshot(f"call-list-{locale}")
    with page.expect_download() as download:
        page.click("#export-not-reached")
    sheet = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    assert sheet.max_row == 3  # the header and the two not reached
    numbers = [sheet.cell(r, 6).value for r in (2, 3)]
    assert sorted(numbers) == ["+8613900000000", "+8613900000001"]  # no apostrophe showing (issue 16, item 9)
    errors = [sheet.cell(r, 16).value for r in (2, 3)]
    assert all(errors) and {"zh_Hans_CN": "号码不存在", "en": "Unknown number"}[locale] in errors  # the code in words

    # A reminder skips the number the carrier says does not exist.
    page.goto(f"/notices/{notice_id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#btn-remind")
    page.wait_for_selector("#follow-ups li[data-kind='reminder']")
    with app.app_context():
        reminder = db.session.scalars(db.select(Notice).where(Notice.follow_up == "reminder")).one()
        assert ids[0] not in reminder.audience["deputy_ids"] and ids[1] in reminder.audience["deputy_ids"]
        db.session.remove()

    # One message sent again from its own page; its timeline reads in time order.
    page.goto(f"/messages/{undelivered_id}")
    labels = page.locator(".timeline-at").all_inner_texts()
    assert labels == sorted(labels) and len(labels) >= 3
    page.click("#btn-resend")
    page.wait_for_selector(".alert-success")
    screenshot(f"message-resent-{locale}")
    with app.app_context():
        resend = db.session.scalars(db.select(Notice).where(Notice.follow_up == "resend")).one()
        assert resend.parent_id == notice_id and resend.audience["deputy_ids"] == [ids[1]]
        assert resend.status == "approved"  # the approved text again: no second approval
        db.session.remove()


@pytest.mark.parametrize("locale", LOCALES)
def test_pages_used_on_the_move_fit_a_phone(app, browser, live_server, screenshot, staff, locale):
    from notifier.notices.dispatch import dispatch_notice
    from notifier.replies.service import receive

    composer, approver = staff("composer", locale), staff("approver", locale)
    with app.app_context():
        ids = add_deputies(6, levels=("county", "municipal"), organisation="县人民政府办公室", title="副主任")
        c, a = db.session.get(User, composer.id), db.session.get(User, approver.id)
        notice = workflow.create_notice(notice_data(reply_deadline=utcnow() + timedelta(days=2)), c)
        workflow.submit(notice, c)
        workflow.approve(notice, a)
        dispatch_notice(notice.id)
        for i, body in enumerate(["1", "2 出差在外，无法参加本次会议，特此请假", "会议材料能否提前发到我的邮箱？谢谢"]):
            receive({"MessageSid": f"SM{i:032d}", "From": f"+861390000000{i}", "To": "+15005550006", "Body": body})
        notice_id = notice.id
        db.session.remove()
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 740}, locale="zh-CN",
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15000)
    log_in(phone, composer.username)
    width = "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    for name, path in (("roster", "/deputies/"), ("inbox", "/replies/"), ("conversation", f"/replies/deputy/{ids[1]}"),
                       ("notice", f"/notices/{notice_id}")):
        phone.goto(path)
        assert phone.evaluate(width) <= 375, (name, phone.evaluate(width))
        phone.screenshot(path=screenshot(f"phone-{name}-{locale}"), full_page=True)
        if name == "roster":  # a name stays on one line, not one character a line
            lines = phone.locator("table.model-list td:has-text('代表0')").first.evaluate(
                "td => { const r = document.createRange(); r.selectNodeContents(td); "
                "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }")
            assert lines == 1, lines
    context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_one_settings_page_with_values_and_where_they_come_from(app, page, screenshot, locale):
    from notifier.notices.settings import get_setting

    admin = add_user(app, f"admin-{locale}", "admin", locale=locale)
    viewer = add_user(app, f"viewer-{locale}", "viewer", locale=locale)
    log_in(page, viewer.username)
    assert page.goto("/settings/").status == 403  # administrators only
    page.context.clear_cookies()
    log_in(page, admin.username)
    page.goto("/settings/")
    signature = page.locator("#settings tr[data-key=SMS_SIGNATURE]")
    assert app.config["SMS_SIGNATURE"] in signature.inner_text()
    approval = page.locator("#settings tr[data-key=approval_required]")
    assert approval.get_attribute("data-source") == "default"
    assert page.locator("#settings tr[data-key=TWILIO_RATE_LIMIT]").count() == 1  # the rate of each gateway
    screenshot(f"settings-{locale}")
    repeat = page.locator("#settings tr[data-key=repeat_needs_approval]")
    repeat.locator(".setting-toggle").click()
    page.wait_for_selector(".alert-success")
    repeat = page.locator("#settings tr[data-key=repeat_needs_approval]")
    assert repeat.get_attribute("data-source") == "page" and admin.username in repeat.inner_text()
    with app.app_context():
        assert get_setting("repeat_needs_approval") is True
        db.session.remove()
    screenshot(f"settings-changed-{locale}")

    # The compose page's urgent box says when the quiet hours are.
    before = app.config["QUIET_HOURS"]
    app.config["QUIET_HOURS"] = "22:00-07:00"
    try:
        page.goto("/notices/new")
        assert "22:00-07:00" in page.inner_text("#group-urgent")
    finally:
        app.config["QUIET_HOURS"] = before


@pytest.mark.parametrize("locale", LOCALES)
def test_import_says_how_to_save_a_file_it_cannot_read(app, page, screenshot, staff, locale):
    composer = staff("composer", locale)
    log_in(page, composer.username)
    page.goto("/roster/import/")
    page.set_input_files("input[name=file]", files=[
        {"name": "代表名单.csv", "mimeType": "text/csv", "buffer": b"name,phone\n\x80\x80\xff,13800138000\n"}])
    with page.expect_navigation():
        page.click("#upload")
    words = {"zh_Hans_CN": "请另存为 UTF-8 或 GB18030 编码的 CSV，或直接上传 Excel 文件",
             "en": "Save it as a CSV file in UTF-8 or GB18030, or upload the Excel file itself"}[locale]
    assert words in page.inner_text("body")
    screenshot(f"import-encoding-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_notice_can_be_copied_to_start_a_new_one(app, page, screenshot, staff, roster, locale):
    composer = staff("composer", locale)
    notice_id = submitted(app, composer, title="上月的会议通知", reply_deadline=utcnow() + timedelta(days=1))
    log_in(page, composer.username)
    page.goto(f"/notices/{notice_id}")
    page.click("#btn-copy")
    page.wait_for_url(f"**/notices/new?copy={notice_id}")
    assert page.input_value("input[name=title]") == "上月的会议通知"
    assert page.input_value("textarea[name=body]").startswith("{name}代表：")
    assert page.is_checked("input[name=levels][value=county]") and page.is_checked("input[name=reply][value=confirm]")
    assert page.input_value("input[name=reply_deadline]") == ""  # old times are not copied
    screenshot(f"copy-{locale}")
    page.fill("input[name=title]", "本月的会议通知")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert _notice_count(app) == 2  # the original is untouched


SHOTS = "/work/shots/everyday2"


def shot(page, screenshot, name):
    """The test's screenshot, and a copy where the issue's pages are looked at together."""
    import os
    import shutil

    path = screenshot(name)
    if os.path.isdir(os.path.dirname(SHOTS)):
        os.makedirs(SHOTS, exist_ok=True)
        shutil.copy(path, os.path.join(SHOTS, f"{name}.png"))


@pytest.mark.parametrize("locale", LOCALES)
def test_roster_in_pinyin_order_with_plain_filters(app, page, screenshot, staff, locale):
    from notifier.roster.models import DeputyGroup
    from notifier.roster.service import create_deputy

    with app.app_context():
        for name, phone, level, tag, active in [("张三", "13800138001", "county", "连任", True),
                                                ("王五", "13800138002", "county", "", True),
                                                ("李四", "13800138003", "municipal", "连任", True),
                                                ("阿明", "13800138004", "county", "连任", False)]:
            create_deputy({"name": name, "phone": phone, "levels": [level], "tags": tag, "active": active})
        create_deputy({"name": "赵六", "phone": "13800138005", "groups": "城关代表小组"})
        group_id = db.session.scalar(db.select(DeputyGroup.id).where(DeputyGroup.name == "城关代表小组"))
        db.session.remove()
    log_in(page, staff("viewer", locale).username)
    page.goto("/deputies/")

    def listed():
        return [n.strip() for n in page.locator("td.col-name").all_inner_texts()]

    assert listed() == ["阿明", "李四", "王五", "张三", "赵六"]  # a, li, wang, zhang, zhao
    # Four plain controls; no add-a-filter menu.
    assert page.locator(".filter-dropdown, #filter_form").count() == 0
    for control in ("#filter-level", "#filter-tag", "#filter-group", "#filter-active"):
        expect(page.locator(control)).to_be_visible()
    page.select_option("#filter-level", "county")
    page.select_option("#filter-tag", "连任")
    page.select_option("#filter-active", "1")
    with page.expect_navigation():
        page.click("#filter-apply")
    assert listed() == ["张三"]
    expect(page.locator("#filter-tag")).to_have_value("连任")
    shot(page, screenshot, f"roster-filters-{locale}")
    with page.expect_navigation():
        page.click("#filter-clear")
    page.select_option("#filter-group", str(group_id))
    with page.expect_navigation():
        page.click("#filter-apply")
    assert listed() == ["赵六"]
    page.goto("/deputies/")
    shot(page, screenshot, f"roster-pinyin-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_reply_code_is_shown_once_and_the_same_everywhere(app, page, screenshot, staff, roster, locale):
    # Another open notice holds code 1: the new one's code is the next free one, not an invented one.
    other_id = submitted(app, staff("composer", f"x{locale}"))
    with app.app_context():
        taken = db.session.get(Notice, other_id).reply_code
        db.session.remove()
    log_in(page, staff("composer", locale).username)
    page.goto("/notices/new")
    page.fill("input[name=title]", "会议通知")
    page.check("input[name=levels][value=county]")
    page.check("input[name=reply][value=confirm]")
    page.fill("textarea[name=body]", "{name}代表：请于周五上午九时参加会议。")
    page.wait_for_function("document.getElementById('pv-example').textContent.indexOf('周五') > 0")
    expect(page.locator("#pv-code-row")).to_be_visible()
    code = page.text_content("#pv-code")
    assert re.fullmatch(r"#\d+", code) and code != f"#{taken}"
    assert page.text_content("#pv-example").endswith(code)
    assert page.text_content("#pv-example").count("#") == 1
    shot(page, screenshot, f"reply-code-compose-{locale}")
    # No reply asked: no code, in the row or in the text.
    page.check("input[name=reply][value=none]")
    page.wait_for_function("document.getElementById('pv-code-row').hidden")
    assert "#" not in page.text_content("#pv-example")
    page.check("input[name=reply][value=confirm]")
    with page.expect_navigation():
        page.click("#save-submit")
    # The notice page (what the approver sees): one label with the code, and the text with it.
    status_line = page.text_content("#notice-status-line")
    assert status_line.count(code) == 1 and page.locator("#reply-code").count() == 1
    label = {"zh_Hans_CN": "回复编号", "en": "Reply code"}[locale]
    assert " ".join(page.text_content("#reply-code").split()) == f"{label} {code}"
    assert page.text_content("#outgoing-text").endswith(code)
    shot(page, screenshot, f"reply-code-notice-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_simulators_us_number_is_not_shown_as_the_platforms(app, page, screenshot, staff, locale):
    from notifier.delivery.models import Message
    from notifier.notices.dispatch import dispatch_notice

    composer, approver = staff("composer", locale), staff("approver", locale)
    with app.app_context():
        add_deputies(1, levels=("county",))
        c, a = db.session.get(User, composer.id), db.session.get(User, approver.id)
        notice = workflow.create_notice(notice_data(), c)
        workflow.submit(notice, c)
        workflow.approve(notice, a)
        dispatch_notice(notice.id)
        message = db.session.scalars(db.select(Message).where(Message.notice_id == notice.id)).one()
        # What the Twilio adapter records when sending through the simulator with the test number.
        message.gateway, message.sender = "twilio", "+15005550006"
        db.session.commit()
        message_id = message.id
        db.session.remove()
    log_in(page, composer.username)
    page.goto(f"/messages/{message_id}")
    gateway = page.inner_text("#message-gateway")
    assert "Twilio" in gateway
    assert "15005550006" not in gateway and "500 555" not in gateway and page.locator("#message-sender").count() == 0
    assert "15005550006" not in page.inner_text("body")
    shot(page, screenshot, f"message-simulator-sender-{locale}")

    # On the real service with its own configured number, the number is shown, as the gateway's.
    before = {k: app.config.get(k) for k in ("TWILIO_API_BASE_URL", "TWILIO_FROM_NUMBER")}
    try:
        app.config.update(TWILIO_API_BASE_URL="https://api.twilio.com", TWILIO_FROM_NUMBER="+447700900123")
        with app.app_context():
            db.session.get(Message, message_id).sender = "+447700900123"
            db.session.commit()
            db.session.remove()
        page.reload()
        label = {"zh_Hans_CN": "网关的发信方", "en": "the gateway's sender"}[locale]
        assert " ".join(page.inner_text("#message-sender").split()) == f"{label}: +44 7700 900123".replace(
            ": ", "：" if locale == "zh_Hans_CN" else ": ")
        shot(page, screenshot, f"message-real-sender-{locale}")
    finally:
        app.config.update(before)


@pytest.mark.parametrize("locale", LOCALES)
def test_reminder_hours_and_masking_are_changed_on_the_settings_page(app, page, screenshot, locale):
    from notifier.audit.models import AuditEvent
    from notifier.replies.settings import get_setting
    from notifier.reports.masking import masked_roles

    admin = add_user(app, f"admin-{locale}", "admin", locale=locale)
    log_in(page, admin.username)
    page.goto("/settings/")
    page.fill("#auto-remind-hours", "800")  # out of range: the browser refuses it (the server too)
    assert page.eval_on_selector("#auto-remind-hours", "e => !e.checkValidity()")
    page.fill("#auto-remind-hours", "12")
    page.click("#form-auto-remind-hours button[type=submit]")
    page.wait_for_selector(".alert-success")
    row = page.locator("#settings tr[data-key=auto_remind_hours]")
    assert row.get_attribute("data-source") == "page" and admin.username in row.inner_text()
    expect(page.locator("#auto-remind-hours")).to_have_value("12.0")
    page.check("#form-masking input[name=mask][value=viewer]")
    page.check("#form-masking input[name=mask][value=composer]")
    page.click("#form-masking button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.locator("#settings tr[data-key=masking]").get_attribute("data-source") == "page"
    assert page.is_checked("#form-masking input[name=mask][value=viewer]")
    shown = page.inner_text("#settings tr[data-key=masking] .setting-value")
    assert "viewer" not in shown and {"zh_Hans_CN": "查看人员", "en": "Viewer"}[locale] in shown  # words, not codes
    shot(page, screenshot, f"settings-reminder-masking-{locale}")
    with app.app_context():
        assert get_setting("auto_remind_hours") == 12.0
        assert sorted(masked_roles()) == ["composer", "viewer"]
        assert db.session.query(AuditEvent).count() >= 2  # both changes are audited by their domains
        db.session.remove()
    # Emptied, the automatic reminder is off.
    page.fill("#auto-remind-hours", "")
    page.click("#form-auto-remind-hours button[type=submit]")
    page.wait_for_selector(".alert-success")
    with app.app_context():
        assert get_setting("auto_remind_hours") is None
        db.session.remove()
