"""Jobs through a real Celery worker process: a large import confirmed on the page is applied by
the worker while the page's status endpoint reports its progress; a large XLSX export is made by
the worker and downloaded."""
import io
import re
import time

import openpyxl

from notifier.extensions import db
from notifier.roster.models import Deputy
from tests.conftest import csrf_token, wait_until
from tests.jobs.conftest import roster_csv

ROWS = 12000


def _job_id(response):
    assert response.status_code == 302, response.status_code
    return int(re.search(r"/jobs/(\d+)/", response.headers["Location"]).group(1))


def test_a_large_import_and_export_run_in_the_worker(app, jobs_dir, job_worker, make_user, client, login,
                                                     monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_IMPORT_JOB_ROWS", 1000)
    monkeypatch.setitem(app.config, "ROSTER_EXPORT_JOB_ROWS", 1000)
    login(make_user("composer"))
    token = csrf_token(client, "/roster/import/")
    preview = client.post("/roster/import/", data={"csrf_token": token,
                                                   "file": (io.BytesIO(roster_csv(ROWS)), "大名单.csv")},
                          content_type="multipart/form-data").get_data(as_text=True)
    import_id = re.search(r'name="import_id"[^>]*value="([0-9a-f]{32})"', preview).group(1)
    started = time.monotonic()
    job_id = _job_id(client.post("/roster/import/apply/", data={"csrf_token": token, "import_id": import_id}))
    assert time.monotonic() - started < 2  # the request only hands the file over

    seen = []

    def finished():
        state = client.get(f"/jobs/{job_id}/status").get_json()
        seen.append((state["status"], state["stage"], state["done"]))
        return state if state["finished"] else None

    state = wait_until(finished, 120, "the import job", interval=0.1)
    assert state["status"] == "done", state
    assert state["result"]["created"] == ROWS and state["percent"] == 100
    # The page saw it move: running, with a count between nothing and everything.
    assert any(s == "running" and 0 < done < ROWS for s, _stage, done in seen), seen
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == ROWS
    page = client.get(f"/jobs/{job_id}/").get_data(as_text=True)
    assert f'id="count-created">{ROWS}<' in page

    export_id = _job_id(client.get("/deputies/download/xlsx/"))
    state = wait_until(lambda: (s := client.get(f"/jobs/{export_id}/status").get_json())["finished"] and s,
                       120, "the export job", interval=0.2)
    assert state["status"] == "done" and state["result"] == {"rows": ROWS}, state
    download = client.get(f"/jobs/{export_id}/download")
    assert download.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(download.data), read_only=True).worksheets[0]
                .iter_rows(values_only=True))
    assert len(rows) == ROWS + 1 and rows[0][:2] == ("姓名", "手机号码")
