"""Browser test: a large Excel export of the message log goes to a worker; the page it leads to
shows the job, then the file when it is done, and the file downloads. Chinese and English."""
import io

import openpyxl
import pytest
from playwright.sync_api import expect

from notifier.jobs import service
from tests.browser.test_roster_browser import logged_in  # noqa: F401  (fixture)
from tests.jobs.conftest import jobs_dir  # noqa: F401  (fixture)
from tests.reports.conftest import seed  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
T = {"zh": {"kind": "短信记录导出（Excel）", "ready": "文件已生成"},
     "en": {"kind": "Message export (Excel)", "ready": "The file is ready"}}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_large_log_export_becomes_a_job_and_downloads(lang, page, logged_in, screenshot, app, seed,  # noqa: F811
                                                       jobs_dir, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "REPORTS_EXPORT_JOB_ROWS", 3)
    logged_in("viewer", lang)
    page.goto("/messages/")
    with page.expect_navigation():
        page.click("a[href*='format=xlsx']")
    expect(page.locator("h2")).to_contain_text(T[lang]["kind"])
    screenshot(f"1-queued-{lang}")
    job_id = int(page.url.rstrip("/").split("/")[-1])
    with app.app_context():
        assert service.run(job_id) == "done"  # what the worker does (tests/jobs run it in one too)
    expect(page.locator("#export-done")).to_contain_text(T[lang]["ready"], timeout=30000)
    screenshot(f"2-done-{lang}")
    with page.expect_download() as info:
        page.click("#job-download")
    with open(info.value.path(), "rb") as fh:
        sheet = openpyxl.load_workbook(io.BytesIO(fh.read()), read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == 9  # the header and the 8 texts
