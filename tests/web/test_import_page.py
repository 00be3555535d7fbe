"""Roster import page: upload -> preview every problem (nothing written) -> confirm -> result."""
import io
import os
import re

import pytest

from tests.conftest import csrf_token, finish_login
from tests.roster.files import BROKEN_FILES, csv_bytes, xlsx_bytes
from tests.web.conftest import audit_actions

HEADER = ["姓名", "手机号码", "代表层级", "工作单位", "标签", "备注"]
GOOD_AND_BAD = [
    HEADER,
    ["张伟", "138 0013 8000", "全国、县级", "城关镇人民政府", "乡镇", "x"],
    ["李娜", 13900139001, "省级", "县人民医院", "", ""],  # a number cell, as Excel stores it
    ["王芳", "12345", "市级", "", "", ""],  # bad phone: row 4
    ["", "13700137002", "县级", "", "", ""],  # no name: row 5
    ["刘洋", "15000150003", "银河系", "", "", ""],  # unknown level: row 6
]


def upload(client, data, filename):
    token = csrf_token(client, "/roster/import/")
    return client.post(
        "/roster/import/",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def hidden_id(html):
    match = re.search(r'<input[^>]*name="import_id"[^>]*value="([0-9a-f]{32})"', html)
    assert match, "no import id on the preview page"
    return match.group(1)


def count(html, name):
    return int(re.search(rf'id="count-{name}">(\d+)<', html).group(1))


def issues(html):
    return re.findall(
        r'<td class="issue-row">(\d+)</td><td class="issue-column">([^<]*)</td><td class="issue-message">([^<]*)</td>', html
    )


def deputies(app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    with app.app_context():
        return {d.name: d.phone for d in db.session.scalars(db.select(Deputy))}


def confirm(client, html, path="/roster/import/apply/"):
    return client.post(path, data={"csrf_token": csrf_token(client, "/roster/import/"), "import_id": hidden_id(html)})


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_preview_lists_every_problem_and_writes_nothing(fmt, as_role, app):
    client, _ = as_role("composer")
    data = xlsx_bytes(GOOD_AND_BAD) if fmt == "xlsx" else csv_bytes(GOOD_AND_BAD, encoding="gb18030")
    response = upload(client, data, f"名单.{fmt}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = issues(html)
    rows = {(int(row), column) for row, column, _message in found}
    assert {(4, "手机号码"), (6, "代表层级")} <= rows
    assert any(int(row) == 5 for row, _c, _m in found)  # the missing name
    assert all(message.strip() for _r, _c, message in found)
    assert (count(html, "total"), count(html, "created"), count(html, "updated"), count(html, "unchanged")) == (5, 2, 0, 0)
    assert count(html, "error-rows") == 3
    assert "备注" in html[html.index('id="ignored-columns"'):]
    assert deputies(app) == {}
    assert not [a for a, *_ in audit_actions(app) if a.startswith("roster.") or a.startswith("deputy.")]
    # the bytes wait on the server, not in the cookie
    assert len(os.listdir(app.config["ROSTER_IMPORT_DIR"])) >= 1
    assert len(client.get_cookie("session").value) < 1000


def test_confirm_applies_the_valid_rows_then_reimport_is_unchanged(as_role, app):
    client, user = as_role("composer")
    html = upload(client, xlsx_bytes(GOOD_AND_BAD), "名单.xlsx").get_data(as_text=True)
    upload_id = hidden_id(html)
    stored = os.path.join(app.config["ROSTER_IMPORT_DIR"], upload_id)
    assert os.path.exists(stored)

    response = confirm(client, html)
    assert response.status_code == 200
    result = response.get_data(as_text=True)
    assert 'id="import-done"' in result
    assert (count(result, "created"), count(result, "updated"), count(result, "error-rows")) == (2, 0, 3)
    assert deputies(app) == {"张伟": "+8613800138000", "李娜": "+8613900139001"}
    assert not os.path.exists(stored)
    imports = [(actor, d) for a, actor, d in audit_actions(app) if a == "roster.import"]
    assert len(imports) == 1 and imports[0][0] == user.username
    assert (imports[0][1]["created"], imports[0][1]["filename"]) == (2, "名单.xlsx")

    # the same id cannot be applied twice
    again = client.post("/roster/import/apply/", data={"csrf_token": csrf_token(client, "/roster/import/"), "import_id": upload_id})
    assert again.status_code == 302
    assert len([a for a, *_ in audit_actions(app) if a == "roster.import"]) == 1

    # the same file again: nothing to do
    html = upload(client, xlsx_bytes(GOOD_AND_BAD[:3]), "名单.xlsx").get_data(as_text=True)
    assert (count(html, "created"), count(html, "updated"), count(html, "unchanged")) == (0, 0, 2)
    assert 'id="no-problems"' in html
    assert re.search(r'id="confirm-import"\s+disabled', html)

    # a change is an update
    changed = [HEADER, ["张伟", "13800138000", "全国", "城关镇人民政府", "乡镇", ""]]
    html = upload(client, csv_bytes(changed), "改.csv").get_data(as_text=True)
    assert (count(html, "created"), count(html, "updated")) == (0, 1)
    assert "<td>代表层级</td>" in html  # what changes, named in the user's language
    result = confirm(client, html).get_data(as_text=True)
    assert count(result, "updated") == 1
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    with app.app_context():
        assert db.session.scalar(db.select(Deputy).where(Deputy.name == "张伟")).level_codes == ["national"]


def test_another_users_upload_cannot_be_applied(as_role, app, make_user, login):
    first, _ = as_role("composer")
    html = upload(first, xlsx_bytes(GOOD_AND_BAD), "名单.xlsx").get_data(as_text=True)
    stolen = hidden_id(html)

    from flask.testing import FlaskClient

    other = FlaskClient(app, app.response_class, use_cookies=True)
    user = make_user("admin")
    token = csrf_token(other, "/login")
    finish_login(other, app, other.post("/login", data={"username": user.username, "password": "correct-horse-42",
                                                        "csrf_token": token}), user.username)
    response = other.post("/roster/import/apply/", data={"csrf_token": csrf_token(other, "/roster/import/"), "import_id": stolen})
    assert response.status_code == 302
    assert deputies(app) == {}
    for bad in ("../../etc/passwd", "zz", ""):
        response = first.post("/roster/import/apply/", data={"csrf_token": csrf_token(first, "/roster/import/"), "import_id": bad})
        assert response.status_code == 302
    assert deputies(app) == {}


def test_discard_deletes_the_upload(as_role, app):
    client, _ = as_role("composer")
    html = upload(client, xlsx_bytes(GOOD_AND_BAD), "名单.xlsx").get_data(as_text=True)
    upload_id = hidden_id(html)
    client.post("/roster/import/discard/", data={"csrf_token": csrf_token(client, "/roster/import/"), "import_id": upload_id})
    assert not os.path.exists(os.path.join(app.config["ROSTER_IMPORT_DIR"], upload_id))
    assert confirm(client, html).status_code == 302
    assert deputies(app) == {}


def test_no_file_or_unreadable_file_gets_a_clear_error(as_role, app):
    client, _ = as_role("composer")
    token = csrf_token(client, "/roster/import/")
    response = client.post("/roster/import/", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert 'class="invalid-feedback d-block file-error"' in response.get_data(as_text=True)

    for data, name in ((b"%PDF-1.4 not a roster", "roster.pdf"), (b"PK\x03\x04garbage", "roster.xlsx"), (b"", "empty.csv"),
                       (csv_bytes([["foo", "bar"], ["1", "2"]]), "nocolumns.csv")):
        response = upload(client, data, name)
        assert response.status_code == 400, name
        html = response.get_data(as_text=True)
        message = re.search(r'file-error">([^<]+)<', html)
        assert message and message.group(1).strip(), name
    assert deputies(app) == {}


def test_template_downloads_import_cleanly(as_role, app):
    client, _ = as_role("composer")
    for fmt in ("xlsx", "csv"):
        response = client.get(f"/roster/import/template/{fmt}/")
        assert response.status_code == 200
        assert f"deputies-template.{fmt}" in response.headers["Content-Disposition"]
        html = upload(client, response.data, f"template.{fmt}").get_data(as_text=True)
        assert 'id="no-problems"' in html and count(html, "created") == 1
    assert client.get("/roster/import/template/pdf/").status_code == 404


def test_export_then_import_is_unchanged(as_role, add_deputy):
    add_deputy("张伟", "13800138000", levels="全国,县级", tags="乡镇", title="=cmd|' /C calc'!A0")
    add_deputy("李娜", "13900139001", levels="省级", active=False)
    client, _ = as_role("composer")
    exported = client.get("/deputies/download/xlsx/").data
    html = upload(client, exported, "export.xlsx").get_data(as_text=True)
    assert (count(html, "created"), count(html, "updated"), count(html, "unchanged")) == (0, 0, 2)


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_a_broken_file_gets_a_clear_error_and_nothing_is_kept(name, as_role, app):
    client, _ = as_role("composer")
    before = set(os.listdir(app.config["ROSTER_IMPORT_DIR"]))
    data, filename = BROKEN_FILES[name]
    response = upload(client, data, filename)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(r'class="[^"]*file-error[^"]*">(.*?)<', html, re.S)
    assert error and len(re.findall(r"[\u4e00-\u9fff]", error.group(1))) >= 4, html[-2000:]  # in Chinese
    assert deputies(app) == {}
    assert not [a for a, *_ in audit_actions(app) if a.startswith("roster.")]
    assert set(os.listdir(app.config["ROSTER_IMPORT_DIR"])) == before  # the upload was not kept
