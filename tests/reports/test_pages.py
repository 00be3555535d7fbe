"""The report pages: who may see what, filters and keyset links, history, notice report, exports,
retry, masking; CSRF on every form."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook

from notifier.audit.models import AuditEvent
from notifier.delivery.models import GatewayExchange
from notifier.extensions import db
from tests.conftest import csrf_token, finish_login


@pytest.fixture
def as_role(make_user, login):
    def do(role):
        return login(make_user(role))
    return do


def test_pages_need_login_and_a_role(client, seed):
    for url in ("/reports/", "/messages/", f"/messages/{seed['messages'][0]}", f"/messages/notices/{seed['notices'][0]}",
                "/messages/export?format=csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_viewer_sees_log_report_dashboard_but_no_exchanges(as_role, seed, app):
    m = seed["messages"]
    with app.app_context():
        db.session.add(GatewayExchange(message_id=m[0], method="POST", url="https://api.twilio.com/x/Messages.json",
                                       request={"data": {"To": "+8613800138000", "Body": "hi"}}, response_status=201,
                                       response_body='{"sid": "SM1"}'))
        db.session.commit()
    client = as_role("viewer")
    page = client.get("/messages/").get_data(as_text=True)
    assert page.count("data-message-id=") == 8 and "张三" in page
    detail = client.get(f"/messages/{m[0]}").get_data(as_text=True)
    assert 'id="events"' in detail and 'id="exchanges"' not in detail and "SM1" not in detail
    assert client.get(f"/messages/notices/{seed['notices'][0]}").status_code == 200
    assert client.get("/reports/").status_code == 200
    # Viewers may not retry or change settings.
    token = csrf_token(client, "/reports/")
    assert client.post(f"/messages/notices/{seed['notices'][0]}/retry", data={"csrf_token": token}).status_code == 403
    assert client.post("/reports/settings", data={"csrf_token": token, "mask": "viewer"}).status_code == 403


def test_admin_sees_redacted_exchanges(as_role, seed, app):
    m = seed["messages"]
    app.config["TWILIO_AUTH_TOKEN"] = "s3cr3t-token"
    try:
        with app.app_context():
            db.session.add(GatewayExchange(message_id=m[0], method="POST", url="https://api.twilio.com/x/Messages.json",
                                           request={"headers": {"Authorization": "Basic s3cr3t-token"}},
                                           response_status=201, response_body='{"sid": "SM1", "t": "s3cr3t-token"}'))
            db.session.commit()
        page = as_role("admin").get(f"/messages/{m[0]}").get_data(as_text=True)
    finally:
        app.config["TWILIO_AUTH_TOKEN"] = None
    assert 'id="exchanges"' in page and "SM1" in page and "s3cr3t-token" not in page and "[redacted]" in page


def test_log_filters_and_next_page_links(as_role, seed, app):
    app.config["REPORTS_PAGE_SIZE"] = 3
    try:
        client = as_role("viewer")
        seen, url = [], "/messages/?level=county"
        while url:
            html = client.get(url).get_data(as_text=True)
            seen += [int(x) for x in re.findall(r'data-message-id="(\d+)"', html)]
            match = re.search(r'id="next-page" href="([^"]+)"', html)
            url = match.group(1).replace("&amp;", "&") if match else None
            if url:
                assert "level=county" in url
        m = seed["messages"]
        assert seen == [m[7], m[6], m[5], m[4], m[3], m[2], m[0]]
    finally:
        app.config["REPORTS_PAGE_SIZE"] = None
    html = client.get("/messages/?status=lost&notice_id=x").get_data(as_text=True)
    assert "data-message-id" not in html and "status" in html  # named in a flash, no 500


def test_notice_report_page(as_role, seed):
    html = as_role("composer").get(f"/messages/notices/{seed['notices'][0]}").get_data(as_text=True)
    assert 'id="chart-funnel"' in html and 'id="chart-delivered"' in html and "<svg" in html
    assert 'data-code="30003"' in html and 'id="btn-retry"' in html


def test_retry_from_the_page_needs_csrf_and_makes_a_follow_up(as_role, seed, app):
    client = as_role("composer")
    url = f"/messages/notices/{seed['notices'][0]}/retry"
    assert client.post(url).status_code == 400  # no CSRF token
    response = client.post(url, data={"csrf_token": csrf_token(client, f"/messages/notices/{seed['notices'][0]}")})
    assert response.status_code == 302 and "/notices/" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "notice.retry_failed"))


def _csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _second_client(app, user):
    from tests.conftest import PASSWORD

    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    finish_login(client, app, response, user.username)
    return client


def test_exports_are_audited_and_masked_for_chosen_roles(as_role, seed, app, make_user):
    admin = as_role("admin")
    token = csrf_token(admin, "/reports/")
    assert admin.post("/reports/settings", data={"csrf_token": token, "mask": ["viewer", "admin"]}).status_code == 302
    response = admin.get(f"/messages/notices/{seed['notices'][0]}/export?format=csv")
    rows = _csv_rows(response.data)
    assert response.headers["Cache-Control"] == "no-store" and len(rows) == 6
    # Admins always see numbers; a leading + is neutralised like any formula start.
    assert "'+8613800138000" in [r[5] for r in rows]
    viewer = _second_client(app, make_user("viewer"))
    rows = _csv_rows(viewer.get("/messages/export?format=csv&status=delivered").data)
    assert len(rows) == 4 and all("****" in r[5] for r in rows[1:])
    assert "****" in viewer.get("/messages/").get_data(as_text=True)
    book = load_workbook(io.BytesIO(viewer.get(f"/messages/notices/{seed['notices'][1]}/export?format=xlsx").data))
    sheet = book.active
    assert sheet.max_row == 4 and "****" in sheet.cell(2, 6).value
    assert viewer.get("/messages/export?format=pdf").status_code == 400
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.action.like("export.%"))).all()
        assert sorted(actions) == ["export.messages", "export.notice", "export.notice"]
        change = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "setting.change"))
        assert change.detail["new"] == ["viewer"]  # admins cannot be masked


def test_dashboard_shows_totals_charts_and_engine_state(as_role, seed):
    html = as_role("viewer").get("/reports/").get_data(as_text=True)
    assert 'id="total-texts">5<' in html and 'id="chart-daily"' in html and 'id="chart-levels"' in html
    assert 'id="engine-state"' in html and 'id="masking"' not in html
    # The engine in the page's words: queues and statuses named, not their codes.
    assert ">发送任务<" in html and ">回执与对账<" in html and 'title="callbacks"' in html
    assert 'data-status="delivered">已送达<' in html and ">delivered<" not in html
    # A day without texts has no delivery rate: a gap in the line, not a 0% point.
    rate = html[html.index('id="chart-rate"'):]
    rate = rate[:rate.index("</svg>")]
    assert rate.count("<circle") == 1 and ">100<" in rate  # one day with texts; a percent axis


def test_line_chart_gaps_and_fixed_top():
    from notifier.reports.charts import series

    svg = str(series([("a", 10), ("b", None), ("c", 30), ("d", 40)], top=100))
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 3 and ">100<" in svg
    assert str(series([("a", None)])).count("<polyline") == 0


def test_message_history_in_words_with_seconds(as_role, seed, app):
    from notifier.delivery.outbox import record_event

    m = seed["messages"][0]
    with app.app_context():
        record_event(m, "callback", "delivered", "callback", "delivered",
                     raw={"MessageStatus": "delivered", "AccountSid": "AC123"})
        db.session.commit()
    page = as_role("viewer").get(f"/messages/{m}").get_data(as_text=True)
    events = page[page.index('id="events"'):page.index("</table>", page.index('id="events"'))]
    assert "网关回执" in events and ">callback<" not in events
    assert '<details class="raw-callback"><summary>网关发来的原始数据</summary>' in events and "AC123" in events
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", events)  # seconds: events often share a minute
