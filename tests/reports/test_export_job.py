"""A large XLSX export of the message log or a notice leaves the request: the page hands it to a
worker as a job and sends the owner to its progress page; the file has the same rows, masked as
the owner sees numbers, and only the owner (and admins) can fetch it. CSV always streams."""
import io
import re

from openpyxl import load_workbook

from notifier.audit.models import AuditEvent
from notifier.extensions import db
from notifier.jobs import service
from tests.conftest import csrf_token
from tests.jobs.conftest import jobs_dir  # noqa: F401  (the fixture)
from tests.reports.test_pages import _csv_rows, _second_client


def _job_id(response):
    assert response.status_code == 302, response.status_code
    return int(re.search(r"/jobs/(\d+)/", response.headers["Location"]).group(1))


def test_a_large_xlsx_export_is_a_job_with_the_same_rows(seed, app, make_user, jobs_dir, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "REPORTS_EXPORT_JOB_ROWS", 3)
    admin = _second_client(app, make_user("admin"))
    token = csrf_token(admin, "/reports/")
    assert admin.post("/reports/settings", data={"csrf_token": token, "mask": ["viewer"]}).status_code == 302
    viewer = _second_client(app, make_user("viewer"))
    notice_id = seed["notices"][0]
    assert len(_csv_rows(viewer.get("/messages/export?format=csv").data)) == 9  # CSV: always streamed
    small = viewer.get("/messages/export?format=xlsx&status=delivered")  # 3 rows: not over the threshold
    assert small.status_code == 200 and small.data[:2] == b"PK"
    notice_job = _job_id(viewer.get(f"/messages/notices/{notice_id}/export?format=xlsx"))  # 5 rows
    log_job = _job_id(viewer.get("/messages/export?format=xlsx"))  # 8 rows
    assert "job-progress" in viewer.get(f"/jobs/{log_job}/").get_data(as_text=True)
    with app.app_context():
        assert service.run(notice_job) == "done" and service.run(log_job) == "done"
        exports = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("export.%"))
                                     .order_by(AuditEvent.id)).all()
        assert [(e.action, e.detail.get("rows")) for e in exports][-2:] == [("export.notice", 5), ("export.messages", 8)]
    state = viewer.get(f"/jobs/{log_job}/status").get_json()
    assert state["status"] == "done" and state["has_file"]
    book = load_workbook(io.BytesIO(viewer.get(f"/jobs/{log_job}/download").data), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 9 and all("****" in row[5] for row in rows[1:])  # masked, as the viewer sees them
    notice_rows = list(load_workbook(io.BytesIO(viewer.get(f"/jobs/{notice_job}/download").data),
                                     read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(notice_rows) == 6 and {r[1] for r in notice_rows[1:]} == {notice_id}
    other = _second_client(app, make_user("viewer"))
    assert other.get(f"/jobs/{log_job}/download").status_code == 404
