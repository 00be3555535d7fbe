"""Browser tests of the roster: import a file with every kind of mistake and see each one (row,
column, reason), fix nothing and cancel, import a clean file, then find a deputy by level filter and
by search; and the create form's validation. Each in Chinese (the default) and in English
(switched in the navbar's user menu, which keeps the choice on the user).
"""
import csv
import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from notifier.extensions import db as _db
from tests.conftest import import_dir_fixture

pytestmark = pytest.mark.browser

LANGS = ["zh", "en"]


# --- fixtures shared with test_accounts_browser.py ------------------------------------------------


import_dir = import_dir_fixture("module")


@pytest.fixture
def logged_in(page, make_user, browser_login, app):
    """logged_in(role, lang) -> the user, logged in through the login page, the interface in
    `lang` ("zh" stays on the default; "en" is chosen in the navbar's user menu)."""

    def do(role, lang):
        user = make_user(role)
        browser_login(user)
        expect(page.locator("nav.navbar")).to_contain_text("代表名单")  # Chinese by default
        expect(page.locator("#user-menu")).to_contain_text(user.username)
        if lang == "en":
            switch_language(page, "en")
            assert user_locale(app, user.id) == "en"
        return user

    return do


def switch_language(page, code):
    page.click("#user-menu")
    with page.expect_navigation():
        page.click(f"button.lang-{code}")
    # (The admin pages' <html> carries no lang attribute: Flask-Admin's base template has none.)
    expect(page.locator("nav.navbar")).to_contain_text("Deputies" if code == "en" else "代表名单")


def user_locale(app, user_id):
    from notifier.accounts.models import User

    with app.app_context():
        try:
            return _db.session.get(User, user_id).locale
        finally:
            _db.session.remove()


# --- files ----------------------------------------------------------------------------------------

HEADER = ["序号", "姓名", "手机号码", "代表层级", "工作单位及职务", "标签"]
# Row numbers as the spreadsheet shows them: the header is row 1.
MESSY = [
    HEADER,
    [1, "张伟", "138 0013 8000", "全国、县级", "城关镇人民政府", "乡镇"],  # row 2: fine
    [2, "李娜", "0571-87654321", "省级", "县人民医院", ""],  # row 3: a landline
    [3, "王芳", "12345", "市级", "", ""],  # row 4: not a number
    [4, "赵敏", "+86 138-0013-8000", "县级", "", ""],  # row 5: same number as row 2
    [5, "刘洋", "15000150003", "银河系", "", ""],  # row 6: unknown level
    [6, "", "13700137002", "县级", "", ""],  # row 7: no name
    [7, "陈静", "13900139001", "省", "县教育局", "教育"],  # row 8: fine
]
# (row, column, the reason in each language)
MESSY_ERRORS = [
    (3, "手机号码", {"zh": "固定电话", "en": "landline"}),
    (4, "手机号码", {"zh": "电话号码", "en": "phone number"}),
    (5, "手机号码", {"zh": "号码重复：该号码已在第 2 行出现", "en": "Duplicate: this number already appears in row 2"}),
    (6, "代表层级", {"zh": "无法识别的代表层级：银河系", "en": "Unknown level: 银河系"}),
    (7, "姓名", {"zh": "缺少姓名", "en": "The name is missing"}),
]
CLEAN = [
    ["姓名", "手机号码", "代表层级", "选区", "工作单位", "职务", "标签"],
    ["周建国", 13800138001, "全国", "第一选区", "县人大常委会", "主任", "常委"],
    ["吴晓梅", "139 0013 9002", "省级、县级", "第二选区", "城关镇人民政府", "镇长", "乡镇"],
    ["郑海峰", "+86 150 0150 0003", "市", "第三选区", "县第一中学", "校长", "教育"],
    ["孙丽华", "0086 137 0013 7004", "县", "第四选区", "县人民医院", "院长", "医疗"],
    ["钱志强", "18600186005", "县级人大代表", "第五选区", "新华村村委会", "主任", "农村"],
]
COUNTY = {"吴晓梅", "孙丽华", "钱志强"}


def csv_bytes(rows, encoding):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows):
    workbook = openpyxl.Workbook()
    workbook.active.title = "代表名单"
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- page helpers ---------------------------------------------------------------------------------


def upload(page, name, data, mime):
    page.goto("/roster/import/")
    page.set_input_files("input[name=file]", files=[{"name": name, "mimeType": mime, "buffer": data}])
    with page.expect_navigation():
        page.click("#upload")


def count(page, name):
    return int(page.locator(f"#count-{name}").inner_text())


def error_table(page):
    rows = page.locator("#import-errors tbody tr")
    return [
        (int(rows.nth(i).locator(".issue-row").inner_text()), rows.nth(i).locator(".issue-column").inner_text(),
         rows.nth(i).locator(".issue-message").inner_text())
        for i in range(rows.count())
    ]


def listed_names(page):
    return set(page.locator("td.col-name").all_inner_texts())


def deputy_count(app):
    from notifier.roster.models import Deputy

    with app.app_context():
        try:
            return _db.session.scalar(_db.select(_db.func.count(Deputy.id)))
        finally:
            _db.session.remove()


T = {
    "zh": {
        "preview": "检查导入文件 名单.csv", "nothing_saved": "尚未保存", "discarded": "已放弃", "no_problems": "没有发现问题",
        "imported": "已导入", "importing": "正在导入…", "county": "县级", "level": "层级", "roster": "代表名单", "search": "搜索",
        "name_missing": "缺少姓名", "not_saved": "未保存", "phone": "手机号码", "add_filter": "添加筛选器",
    },
    "en": {
        "preview": "Check the import of 名单.csv", "nothing_saved": "Nothing has been saved yet", "discarded": "discarded",
        "no_problems": "No problems found", "imported": "Imported", "importing": "Importing…", "county": "County", "level": "Level",
        "roster": "Deputies", "search": "Search", "name_missing": "The name is missing", "not_saved": "not saved",
        "phone": "Mobile number", "add_filter": "Add Filter",
    },
}


# --- tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_import_messy_then_clean_and_find_by_filter(lang, page, logged_in, screenshot, app):
    t = T[lang]
    logged_in("composer", lang)

    # 1. A GB18030 CSV, as Chinese Excel saves it, with every kind of mistake: all of them listed.
    upload(page, "名单.csv", csv_bytes(MESSY, "gb18030"), "text/csv")
    expect(page.locator("h2")).to_have_text(t["preview"])
    expect(page.locator(".alert-info")).to_contain_text(t["nothing_saved"])
    screenshot(f"1-messy-preview-{lang}")
    found = error_table(page)
    assert [(row, column) for row, column, _m in found] == [(row, column) for row, column, _r in MESSY_ERRORS], found
    for (_row, _column, message), (_r, _c, reason) in zip(found, MESSY_ERRORS, strict=True):
        assert reason[lang] in message, message
        if lang == "en":
            assert not re.search(r"[\u4e00-\u9fff]", message.replace("银河系", "").replace("全国, 省, 市, 县", ""))
        else:
            assert not re.search(r"\b(number|level|missing)\b", message, re.I), message
    assert (count(page, "total"), count(page, "created"), count(page, "updated"), count(page, "unchanged"),
            count(page, "error-rows")) == (7, 2, 0, 0, 5)
    expect(page.locator("#ignored-columns")).to_contain_text("序号")

    # 2. Fix nothing: cancel. Nothing was written.
    with page.expect_navigation():
        page.click("#discard-import")
    expect(page.locator(".alert")).to_contain_text(t["discarded"])
    assert deputy_count(app) == 0

    # 3. A clean Excel file: no problems, five to add; apply them.
    upload(page, "名单.xlsx", xlsx_bytes(CLEAN), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    expect(page.locator("#no-problems")).to_contain_text(t["no_problems"])
    assert (count(page, "total"), count(page, "created"), count(page, "error-rows")) == (5, 5, 0)
    screenshot(f"2-clean-preview-{lang}")
    # Once clicked, the button says it is working and cannot be clicked again (held here, so the
    # page stays to be looked at; then the form is sent as it would have been).
    page.eval_on_selector("#confirm-import", "b => b.form.addEventListener('submit', e => e.preventDefault())")
    page.click("#confirm-import")
    expect(page.locator("#confirm-import")).to_be_disabled()
    expect(page.locator("#confirm-import")).to_contain_text(t["importing"])
    screenshot(f"2b-importing-{lang}")
    with page.expect_navigation():
        page.eval_on_selector("#confirm-import", "b => b.form.submit()")
    expect(page.locator("h2")).to_contain_text(t["imported"])
    assert (count(page, "created"), count(page, "updated"), count(page, "unchanged")) == (5, 0, 0)
    screenshot(f"3-imported-{lang}")
    assert deputy_count(app) == 5

    # The same file again changes nothing, and there is nothing to confirm.
    upload(page, "名单.xlsx", xlsx_bytes(CLEAN), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert (count(page, "created"), count(page, "updated"), count(page, "unchanged")) == (0, 0, 5)
    expect(page.locator("#confirm-import")).to_be_disabled()

    # 4. The roster: all five; the level control (a plain select, no add-a-filter menu) keeps the
    # county ones.
    page.goto("/deputies/")
    assert listed_names(page) == {row[0] for row in CLEAN[1:]}
    expect(page.locator(f"a.nav-link.dropdown-toggle:has-text('{t['add_filter']}')")).to_have_count(0)
    page.select_option("#filter-level", label=t["county"])
    with page.expect_navigation():
        page.click("#filter-apply")
    expect(page.locator("#filter-level")).to_have_value("county")
    assert "flt" in page.url
    assert listed_names(page) == COUNTY
    levels = page.locator("td.col-levels").all_inner_texts()
    assert all(t["county"] in cell for cell in levels), levels
    screenshot(f"4-filtered-county-{lang}")

    # 5. Search within the filtered list: by part of the number, then by organisation.
    page.fill("input[name=search]", "13700")
    with page.expect_navigation():
        page.press("input[name=search]", "Enter")
    assert listed_names(page) == {"孙丽华"}
    expect(page.locator("td.col-phone")).to_have_text("137 0013 7004")
    page.fill("input[name=search]", "新华村")
    with page.expect_navigation():
        page.press("input[name=search]", "Enter")
    assert listed_names(page) == {"钱志强"}
    screenshot(f"5-search-{lang}")
    # A search for someone the filter excludes finds no one.
    page.fill("input[name=search]", "周建国")
    with page.expect_navigation():
        page.press("input[name=search]", "Enter")
    assert listed_names(page) == set()

    # 6. The create form: a landline is refused with the reason next to the field, nothing saved;
    # with a mobile number the deputy is saved and the county filter finds them too.
    page.goto("/deputies/new/")
    # The level and tag pickers (select2) speak the page's language too.
    assert page.evaluate("jQuery.fn.select2.defaults.formatNoMatches()") == {"zh": "没有找到匹配项",
                                                                            "en": "No matches found"}[lang]
    assert page.evaluate("jQuery.fn.select2.defaults.formatMatches(3)").startswith({"zh": "有 3 个结果",
                                                                                     "en": "3 results"}[lang])
    page.click("#s2id_levels input.select2-input")
    page.keyboard.type("zzz")
    expect(page.locator(".select2-drop-active .select2-no-results")).to_have_text(
        {"zh": "没有找到匹配项", "en": "No matches found"}[lang])
    page.keyboard.press("Escape")
    # (An empty name never reaches the server: the field is `required` and the browser stops it.)
    page.fill("input[name=name]", "冯雪")
    page.fill("input[name=phone]", "0571-87654321")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    phone_group = page.locator(".form-group", has=page.locator("input[name=phone]"))
    expect(phone_group).to_contain_text({"zh": "这是固定电话号码，无法接收短信", "en": "This is a landline number"}[lang])
    expect(page.locator("input[name=phone]")).to_have_class(re.compile("is-invalid"))
    screenshot(f"6-create-invalid-{lang}")
    assert deputy_count(app) == 5
    page.fill("input[name=phone]", "139 0013 9009")
    page.locator("select[name=levels]").select_option(label=t["county"], force=True)  # under select2
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    assert deputy_count(app) == 6
    page.goto("/deputies/?flt0_0=county")
    assert listed_names(page) == COUNTY | {"冯雪"}
