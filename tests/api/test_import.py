"""POST /api/v1/deputies/import: dry run, apply, re-import, bad files."""
import io
import re

import pytest

from notifier.audit.models import AuditEvent
from notifier.roster.models import Deputy
from tests.api.conftest import assert_error, audit_actions, count, csv_file, xlsx_file
from tests.roster.files import BROKEN_FILES

URL = "/api/v1/deputies/import"
ROWS = [
    ["姓名", "手机号码", "代表层级", "工作单位", "标签", "备注"],
    ["王芳", "138 0013 8000", "全国人大代表、县级", "县一中", "教育", "x"],
    ["李强", "+86 139-0013-9000", "县", "城关镇", "农业", ""],
    ["张伟", "12345", "县", "", "", ""],  # bad phone
    ["", "13700137000", "县", "", "", ""],  # no name
    ["刘洋", 13600136000, "乡级", "", "", ""],  # unknown level
    ["陈静", "13500135000", "市级", "县医院", "", ""],
]


def upload(api, data, filename="roster.csv", dry_run=None):
    url = URL if dry_run is None else f"{URL}?dry_run={'true' if dry_run else 'false'}"
    return api.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


@pytest.mark.parametrize(("make", "filename"), [(csv_file, "roster.csv"), (xlsx_file, "名单.xlsx")])
def test_dry_run_reports_and_writes_nothing(api, app, make, filename):
    before = count(app, AuditEvent)
    response = upload(api, make(ROWS), filename, dry_run=True)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dry_run"] is True
    assert (body["created"], body["updated"], body["unchanged"], body["total"]) == (3, 0, 0, 6)
    assert body["ignored_columns"] == ["备注"]
    assert sorted(e["row"] for e in body["errors"]) == [4, 5, 6]
    by_row = {e["row"]: e for e in body["errors"]}
    assert by_row[4]["column"] == "手机号码"
    assert by_row[6]["column"] == "代表层级"
    assert all(e["message"] for e in body["errors"])
    assert count(app, Deputy) == 0
    assert count(app, AuditEvent) == before


def test_import_then_reimport_is_all_unchanged(api, app):
    data = xlsx_file(ROWS)
    response = upload(api, data, "名单.xlsx")
    body = response.get_json()
    assert response.status_code == 200 and body["dry_run"] is False
    assert (body["created"], body["updated"], body["unchanged"]) == (3, 0, 0)
    assert len(body["errors"]) == 3
    assert count(app, Deputy) == 3
    listed = api.get("/api/v1/deputies").get_json()["items"]
    wang = next(d for d in listed if d["name"] == "王芳")
    assert wang["phone"] == "+8613800138000" and wang["levels"] == ["national", "county"] and wang["tags"] == ["教育"]

    action, actor, detail = audit_actions(app)[-1]
    assert action == "roster.import" and actor.startswith("admin")
    assert detail["created"] == 3 and detail["filename"] == "名单.xlsx"

    again = upload(api, data, "名单.xlsx").get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    dry = upload(api, data, "名单.xlsx", dry_run=True).get_json()
    assert (dry["created"], dry["updated"], dry["unchanged"]) == (0, 0, 3)


def test_reimport_with_a_change_updates(api, app):
    upload(api, csv_file(ROWS))
    changed = [row[:] for row in ROWS]
    changed[2][3] = "县政府"
    body = upload(api, csv_file(changed)).get_json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 2)
    li = api.get("/api/v1/deputies?q=李强").get_json()["items"][0]
    assert li["organisation"] == "县政府"


def test_gb18030_csv(api):
    data = "姓名,手机号码\r\n王芳,13800138000\r\n".encode("gb18030")
    body = upload(api, data, "名单.csv", dry_run=True).get_json()
    assert body["created"] == 1 and body["errors"] == []


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "roster.csv"),  # empty file
        (b"\x00\x01\x02garbage", "roster.csv"),
        (b"PK\x03\x04 not really a zip", "roster.xlsx"),
        (b"\xd0\xcf\x11\xe0 old excel", "roster.xls"),
        (b"name,phone\r\n", "roster.pdf"),
        ("备注\r\n你好\r\n".encode(), "roster.csv"),  # no name or phone column
        ("姓名,手机号码\r\n".encode(), "roster.csv"),  # a header and no rows
    ],
)
def test_unreadable_files_are_422_on_file(api, app, data, filename):
    for dry_run in (True, False):
        response = upload(api, data, filename, dry_run=dry_run)
        (message,) = assert_error(response, 422, "files", "file")
        assert len(message) > 5
    assert count(app, Deputy) == 0


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_broken_files_are_422_in_the_clients_language(api, app, name):
    data, filename = BROKEN_FILES[name]
    for dry_run, language, script in ((True, "en", r"[A-Za-z]{4}"), (False, "zh-CN", r"[\u4e00-\u9fff]{4}")):
        response = api.post(f"{URL}?dry_run={'true' if dry_run else 'false'}", headers={"Accept-Language": language},
                            data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
        (message,) = assert_error(response, 422, "files", "file")
        assert re.search(script, message), message
    assert count(app, Deputy) == 0


def test_missing_file(api):
    assert_error(api.post(URL), 422, "files", "file")  # no body at all
    assert_error(api.post(URL, data={}, content_type="multipart/form-data"), 422, "files", "file")
    assert_error(api.post(URL, data={"file": "just text"}, content_type="multipart/form-data"), 422, "files", "file")
    assert_error(api.post(URL, data={"other": (io.BytesIO(b"x"), "a.csv")}), 422, "files", "file")
    assert_error(api.post(URL, json={"file": "x"}), 422, "files", "file")


def test_bad_dry_run_value(api, app):
    response = upload(api, csv_file(ROWS), dry_run=None)
    assert response.status_code == 200
    response = api.post(f"{URL}?dry_run=perhaps", data={"file": (io.BytesIO(csv_file(ROWS)), "r.csv")})
    assert_error(response, 422, "query", "dry_run")


def test_too_large_upload_is_413_json(api, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = upload(api, b"x" * (limit + 1), dry_run=True)
    assert_error(response, 413, "_request")
