"""Reports in a real browser (Debian chromium), in Chinese and in English: the delivery log with a
filter and its next-page link, a notice report with its charts, and the overview dashboard.
Screenshots are kept under test-artifacts/<test>/."""
import pytest

from tests.conftest import add_user

pytestmark = pytest.mark.browser
WORDS = {
    "zh_Hans_CN": {"log": "发送日志", "funnel": "发送漏斗", "overview": "最近 30 天总览", "delivered": "已送达",
                   "failure": "手机无法接通"},
    "en": {"log": "Delivery log", "funnel": "Delivery funnel", "overview": "Overview of the last 30 days",
           "delivered": "Delivered", "failure": "Phone unreachable"},
}


@pytest.fixture
def world(app):
    from tests.reports.conftest import _seed

    with app.app_context():
        return _seed()


def _viewer(app, locale):
    return add_user(app, f"viewer-{locale}", "viewer", locale=locale)


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_log_report_and_dashboard(app, page, browser_login, screenshot, world, locale):
    words = WORDS[locale]
    app.config["REPORTS_PAGE_SIZE"] = 5
    try:
        browser_login(_viewer(app, locale))
        page.goto("/messages/")
        assert words["log"] in page.locator("h2").inner_text()
        assert page.locator("#log tbody tr").count() == 5
        screenshot(f"log-{locale}")
        page.click("#next-page")
        assert page.locator("#log tbody tr").count() == 3
        page.goto("/messages/")
        page.select_option("#status", "delivered")
        page.click("#btn-search")
        statuses = page.locator("#log .message-status").all_inner_texts()
        assert statuses and all(s == words["delivered"] for s in statuses)
        screenshot(f"log-filtered-{locale}")

        page.goto(f"/messages/notices/{world['notices'][0]}")
        assert words["funnel"] in page.content()
        funnel = page.locator("#chart-funnel")
        assert funnel.is_visible() and funnel.bounding_box()["height"] > 100
        assert page.locator("#chart-funnel rect.bar").count() == 8
        assert page.locator("#chart-delivered").is_visible()
        assert words["failure"] in page.locator("#failures").inner_text()
        screenshot(f"notice-report-{locale}")

        page.goto("/reports/")
        assert words["overview"] in page.locator("h2").inner_text()
        assert page.locator("#total-texts").inner_text() == "5"
        for chart in ("#chart-daily", "#chart-rate", "#chart-levels", "#chart-sources"):
            assert page.locator(chart).is_visible(), chart
        assert page.locator("#engine-state").is_visible()
        screenshot(f"dashboard-{locale}")
    finally:
        app.config["REPORTS_PAGE_SIZE"] = None
