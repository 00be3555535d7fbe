"""Job pages: the progress endpoint, who may see a job and its file (the owner and admins: anyone
else gets 404), downloads audited, a failed job's reason shown; the roster's CSV export streams,
a large import and a large XLSX export become jobs."""
import io
import re

import openpyxl

from notifier.extensions import db
from notifier.jobs import service
from notifier.jobs.models import Job
from notifier.roster.exporter import export_roster
from notifier.roster.service import create_deputy
from tests.conftest import PASSWORD, csrf_token, finish_login
from tests.jobs.conftest import roster_csv
from tests.web.conftest import audit_actions


def client_for(app, user):
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    finish_login(client, app, response, user.username)
    return client


def _export_job(app, owner, n=3):
    with app.app_context():
        for i in range(n):
            create_deputy({"name": f"代表{i}", "phone": f"1390000{i:04d}", "levels": "县级"}, actor="system")
        ids = list(db.session.scalars(db.select(db.text("id")).select_from(db.text("deputies")).order_by(db.text("id"))))
        job = service.create("roster.export", owner.id, {"ids": ids, "file_name": "deputies-x.xlsx"}, total=n)
        assert service.run(job.id) == "done"
        return job.id


def test_only_the_owner_and_admins_see_a_job_and_download_its_file(app, jobs_dir, make_user):
    owner, other, admin = make_user("composer"), make_user("composer"), make_user("admin")
    job_id = _export_job(app, owner)
    mine = client_for(app, owner)
    state = mine.get(f"/jobs/{job_id}/status").get_json()
    assert (state["status"], state["percent"], state["finished"], state["has_file"]) == ("done", 100, True, True)
    page = mine.get(f"/jobs/{job_id}/").get_data(as_text=True)
    assert 'id="job-download"' in page and "deputies-x.xlsx" in page
    assert f"/jobs/{job_id}/" in mine.get("/jobs/").get_data(as_text=True)
    download = mine.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert "deputies-x.xlsx" in download.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(download.data), read_only=True).worksheets[0]
    assert len(list(sheet.iter_rows(values_only=True))) == 4
    assert [a for a in audit_actions(app) if a[0] == "job.download"] == [
        ("job.download", owner.username, {"kind": "roster.export", "file_name": "deputies-x.xlsx", "rows": 3})]

    theirs = client_for(app, other)
    for path in ("", "status", "download"):
        assert theirs.get(f"/jobs/{job_id}/{path}").status_code == 404, path
    assert f"/jobs/{job_id}/" not in theirs.get("/jobs/").get_data(as_text=True)
    assert client_for(app, admin).get(f"/jobs/{job_id}/download").status_code == 200
    assert mine.get("/jobs/99999/status").status_code == 404


def test_a_failed_job_shows_its_reason(app, jobs_dir, make_user, client, login):
    owner = make_user("composer")
    with app.app_context():
        name = service.new_file_name(".upload")
        with open(service.file_path(name), "wb") as fh:
            fh.write("备注\n随便\n".encode())
        job = service.create("roster.import", owner.id, {"input": name, "filename": "坏.csv"}, locale="zh_Hans_CN")
        assert service.run(job.id) == "failed"
    login(owner)
    state = client.get(f"/jobs/{job.id}/status").get_json()
    assert state["status"] == "failed" and "手机号码" in state["error"]
    page = client.get(f"/jobs/{job.id}/").get_data(as_text=True)
    assert re.search(r'id="job-error">[^<]*手机号码', page)
    assert client.get(f"/jobs/{job.id}/download").status_code == 404


def test_the_csv_export_streams_the_same_file_and_is_audited(app, make_user, client, login):
    with app.app_context():
        for i in range(5):
            create_deputy({"name": f"代表{i}", "phone": f"1390000{i:04d}", "levels": "县级", "tags": "+1"},
                          actor="system")
        expected = export_roster("csv")[0]
    login(make_user("admin"))
    response = client.get("/deputies/download/csv/")
    assert response.status_code == 200 and response.is_streamed
    assert response.data == expected
    assert [a[2] for a in audit_actions(app) if a[0] == "roster.export"] == [
        {"format": "csv", "search": "", "filtered": False}]


def test_a_large_xlsx_export_becomes_a_job(app, jobs_dir, make_user, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_EXPORT_JOB_ROWS", 2)
    with app.app_context():
        for i in range(3):
            create_deputy({"name": f"代表{i}", "phone": f"1390000{i:04d}"}, actor="system")
    login(make_user("composer"))
    assert client.get("/deputies/download/xlsx/?search=代表1").status_code == 200  # one row: at once
    response = client.get("/deputies/download/xlsx/")
    assert response.status_code == 302
    job_id = int(re.search(r"/jobs/(\d+)/", response.headers["Location"]).group(1))
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.kind, job.status, job.total, len(job.params["ids"])) == ("roster.export", "queued", 3, 3)
    exports = [a[2] for a in audit_actions(app) if a[0] == "roster.export"]
    assert exports[-1] == {"format": "xlsx", "search": "", "filtered": False, "job_id": job_id, "rows": 3}
    page = client.get(f"/jobs/{job_id}/").get_data(as_text=True)
    assert 'id="job-bar"' in page and 'data-finished="false"' in page


def test_a_large_import_is_applied_by_a_job(app, jobs_dir, make_user, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_IMPORT_JOB_ROWS", 10)
    login(make_user("composer"))
    token = csrf_token(client, "/roster/import/")
    preview = client.post("/roster/import/", data={"csrf_token": token, "file": (io.BytesIO(roster_csv(20)), "r.csv")},
                          content_type="multipart/form-data").get_data(as_text=True)
    import_id = re.search(r'name="import_id"[^>]*value="([0-9a-f]{32})"', preview).group(1)
    response = client.post("/roster/import/apply/", data={"csrf_token": token, "import_id": import_id})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job_id = int(re.search(r"/jobs/(\d+)/", response.headers["Location"]).group(1))
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.kind, job.total, job.params["filename"]) == ("roster.import", 20, "r.csv")
        assert service.run(job_id) == "done"
    # The upload was handed over: confirming it again finds nothing.
    again = client.post("/roster/import/apply/", data={"csrf_token": token, "import_id": import_id})
    assert again.status_code == 302 and "/jobs/" not in again.headers["Location"]
    page = client.get(f"/jobs/{job_id}/").get_data(as_text=True)
    assert re.search(r'id="count-created">20<', page) and 'id="import-done"' in page
