"""Browser test of background jobs: a large roster import is confirmed, the page's progress bar
moves while a real Celery worker applies it and the result shows when it is done; then a large
Excel export is made the same way and downloaded. In Chinese (the default) and in English."""
import io

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.test_roster_browser import logged_in, upload  # noqa: F401  (fixture)
from tests.conftest import import_dir_fixture
from tests.jobs.conftest import job_worker, jobs_dir, roster_csv  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
import_dir = import_dir_fixture("module")
ROWS = 20000
T = {
    "zh": {"kind": "代表名单导入", "done": "已完成", "saved": "有效的行已保存", "export": "代表名单导出", "ready": "文件已生成"},
    "en": {"kind": "Roster import", "done": "Done", "saved": "The valid rows have been saved", "export": "Roster export",
           "ready": "The file is ready"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_progress_bar_reaches_done_and_the_file_downloads(lang, page, logged_in, screenshot, app,  # noqa: F811
                                                              job_worker, monkeypatch):  # noqa: F811
    t = T[lang]
    monkeypatch.setitem(app.config, "ROSTER_IMPORT_JOB_ROWS", 1000)
    monkeypatch.setitem(app.config, "ROSTER_EXPORT_JOB_ROWS", 1000)
    logged_in("composer", lang)
    upload(page, "大名单.csv", roster_csv(ROWS), "text/csv")
    expect(page.locator("#count-created")).to_have_text(str(ROWS))
    with page.expect_navigation():
        page.click("#confirm-import")
    expect(page.locator("h2")).to_contain_text(t["kind"])
    # The bar moves while the worker saves (the page polls the status endpoint, no reload).
    page.wait_for_function("() => { const b = document.getElementById('job-bar');"
                           " return b && parseInt(b.style.width) > 0 && parseInt(b.style.width) < 100; }",
                           timeout=60000)
    screenshot(f"1-import-running-{lang}")
    expect(page.locator("#import-done")).to_contain_text(t["saved"], timeout=120000)
    expect(page.locator("#job-status")).to_have_text(t["done"])
    expect(page.locator("#job-bar")).to_have_text("100%")
    expect(page.locator("#count-created")).to_have_text(str(ROWS))
    screenshot(f"2-import-done-{lang}")

    page.goto("/deputies/download/xlsx/")
    expect(page.locator("h2")).to_contain_text(t["export"])
    expect(page.locator("#export-done")).to_contain_text(t["ready"], timeout=120000)
    screenshot(f"3-export-done-{lang}")
    with page.expect_download() as info:
        page.click("#job-download")
    path = info.value.path()
    with open(path, "rb") as fh:
        sheet = openpyxl.load_workbook(io.BytesIO(fh.read()), read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == ROWS + 1
