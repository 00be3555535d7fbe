"""Roles an administrator chose see deputies' numbers masked (138****8000) everywhere a number
reaches them: the roster list and its exports, the edit form, the compose picker, a notice's
recipients, the inbox and conversations, a message's raw callbacks, and the API."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook

from notifier.extensions import db
from notifier.replies.models import InboundMessage
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token, finish_login
from tests.reports.conftest import seed  # noqa: F401

NUMBERS = ["+8613800138000", "+8613800138001", "+8613911112222", "+8613700001234", "+8618612345678"]


def leaks(text):
    """The full numbers found in `text`, in any spelling a page or file might use."""
    found = []
    for number in NUMBERS:
        national = number[3:]
        spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
        if national in text or spaced in text or number.lstrip("+") in text:
            found.append(number)
    return found


@pytest.fixture
def world(app, seed, make_user):  # noqa: F811
    with app.app_context():
        db.session.add(InboundMessage(gateway_id="SM-in-1", from_number="+8613800138000", to_number="+15005550006",
                                      body="收到", received_at=utcnow(), deputy_id=seed["deputies"][0], kind="text"))
        db.session.commit()
    admin = _client(app, make_user("admin"))
    token = csrf_token(admin, "/reports/")
    assert admin.post("/reports/settings", data={"csrf_token": token, "mask": ["viewer", "composer"]}).status_code == 302
    return {**seed, "admin": admin, "viewer": _client(app, make_user("viewer")),
            "composer": _client(app, make_user("composer"))}


def _client(app, user):
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    finish_login(client, app, response, user.username)
    return client


def _pages(world):
    d, n, m = world["deputies"], world["notices"], world["messages"]
    return ["/deputies/", f"/notices/{n[0]}", f"/notices/{n[0]}/progress", "/replies/", f"/replies/deputy/{d[0]}",
            f"/messages/{m[0]}", "/messages/"]


@pytest.mark.parametrize("role", ["viewer", "composer"])
def test_masked_roles_never_see_a_full_number_on_a_page(world, role):
    client = world[role]
    for path in _pages(world):
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert leaks(text) == [], path
    assert "138****8000" in client.get("/deputies/").get_data(as_text=True)
    raw = client.get(f"/messages/{world['messages'][0]}").get_data(as_text=True)
    assert "raw-callback" in raw and "138****8000" in raw  # the callback is shown, with the number masked


def test_administrators_still_see_every_number(world):
    for path in _pages(world)[:2] + ["/deputies/download/csv/"]:
        assert leaks(world["admin"].get(path).get_data(as_text=True)), path


def test_roster_exports_are_masked(world):
    client = world["viewer"]
    text = client.get("/deputies/download/csv/").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 6 and leaks(text) == [] and all("****" in row[1] for row in rows[1:])
    book = load_workbook(io.BytesIO(client.get("/deputies/download/xlsx/").data))
    cells = [str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None]
    assert leaks(" ".join(cells)) == [] and any("****" in c for c in cells)


def test_the_compose_picker_is_masked(world):
    """The picker's answers and a draft's chosen deputies show masked numbers, and a masked role
    cannot find a deputy by the digits the mask hides (only by the last four it shows)."""
    client, first = world["composer"], world["deputies"][0]
    found = client.get("/notices/deputies?q=张三")
    assert found.status_code == 200 and leaks(found.get_data(as_text=True)) == []
    assert [i["label"] for i in found.json["items"]] == ["张三 +86 138****8000"]
    assert [i["id"] for i in client.get("/notices/deputies?q=8000").json["items"]] == [first]
    assert client.get("/notices/deputies?q=13800138").json["items"] == []  # hidden digits
    assert first in [i["id"] for i in world["admin"].get("/notices/deputies?q=13800138").json["items"]]
    token = csrf_token(client, "/notices/new")
    response = client.post("/notices/new", data={"csrf_token": token, "title": "", "body": "x", "category": "meeting",
                                                 "source": "congress", "reply": "none", "deputy_ids": [str(first)],
                                                 "then": "save"})
    page = response.get_data(as_text=True)  # a field error: the chosen deputy is shown again, masked
    assert response.status_code == 200 and "张三 +86 138****8000" in page and leaks(page) == []
    assert f'name="deputy_ids" value="{first}"' in page


def test_a_masked_editor_changes_a_deputy_but_never_sees_or_changes_the_number(world, app):
    client, deputy_id = world["composer"], world["deputies"][0]
    path = f"/deputies/edit/?id={deputy_id}"
    page = client.get(path).get_data(as_text=True)
    assert leaks(page) == [] and re.search(r'name="phone"[^>]*readonly', page)
    response = client.post(path, data={"name": "张三", "phone": "+86 138****8000", "levels": ["county"],
                                       "title": "主任", "active": "y", "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    with app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert (deputy.title, deputy.phone) == ("主任", "+8613800138000")


def test_the_api_masks_numbers_for_masked_roles(world, make_user, token_for, client):
    headers = token_for(make_user("viewer"))
    d, n, m = world["deputies"], world["notices"], world["messages"]
    for path in ("/api/v1/deputies", f"/api/v1/deputies/{d[0]}", f"/api/v1/notices/{n[0]}/messages",
                 "/api/v1/replies", f"/api/v1/messages/{m[0]}", "/api/v1/messages"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert leaks(response.get_data(as_text=True)) == [], path
    assert client.get(f"/api/v1/deputies/{d[0]}", headers=headers).get_json()["phone"] == "+86 138****8000"
    admin = token_for(make_user("admin"))
    assert client.get(f"/api/v1/deputies/{d[0]}", headers=admin).get_json()["phone"] == "+8613800138000"
