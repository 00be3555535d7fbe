"""The compose page's individual-deputy picker: the page never carries the roster, the search
answers at most 20 deputies by name, pinyin or number (login and the compose permission as the
page; bad input 400), and a draft or a form with an error shows its chosen deputies by name."""
import re

import pytest

from notifier.extensions import db
from notifier.notices.models import Notice
from notifier.roster.service import create_deputy
from tests.conftest import csrf_token
from tests.notices.conftest import add_deputies


@pytest.fixture
def roster(app):
    with app.app_context():
        many = add_deputies(30, levels=("county",))  # 代表0 .. 代表29, +8613900000000 ..
        zhang = create_deputy({"name": "张三", "phone": "+8613800138000", "levels": ["county"]}).id
        zhao = create_deputy({"name": "赵六", "phone": "+8613911112222", "levels": ["county"], "active": False}).id
        db.session.remove()
    return {"many": many, "zhang": zhang, "zhao": zhao}


def test_the_search_needs_login_and_the_compose_permission(client, login, make_user, roster):
    response = client.get("/notices/deputies?q=张")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(make_user("viewer"))
    assert client.get("/notices/deputies?q=张").status_code == 403


def test_the_search_finds_by_name_pinyin_and_number(client, login, make_user, roster):
    login(make_user("composer"))
    by_name = client.get("/notices/deputies?q=张").json
    assert by_name == {"items": [{"id": roster["zhang"], "name": "张三", "phone": "138 0013 8000",
                                  "label": "张三 138 0013 8000", "note": ""}], "more": False}
    for q in ("zhang", "zhang s", "ZHANG SAN", " zhang  san "):
        assert [i["id"] for i in client.get("/notices/deputies", query_string={"q": q}).json["items"]] == \
            [roster["zhang"]], q
    assert client.get("/notices/deputies?q=zhangs").json["items"] == []  # each word starts a syllable
    assert [i["id"] for i in client.get("/notices/deputies?q=0013 8000").json["items"]] == [roster["zhang"]]
    inactive = client.get("/notices/deputies?q=赵").json["items"]
    assert [i["id"] for i in inactive] == [roster["zhao"]] and inactive[0]["note"] == "停用"
    # At most 20, in roster (pinyin) order, and it says there are more.
    found = client.get("/notices/deputies?q=代表").json
    assert len(found["items"]) == 20 and found["more"] is True
    assert [i["name"] for i in found["items"]] == sorted((f"代表{i}" for i in range(30)),
                                                        key=lambda n: n.replace("代表", "dai4 biao3 "))[:20]
    assert client.get("/notices/deputies?q=%_").json == {"items": [], "more": False}  # LIKE's wildcards are text


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20", "?q=" + "张" * 51, "?q=%00abc", "?q=a%0Ab"])
def test_bad_searches_are_refused_with_a_field_error(client, login, make_user, roster, query):
    login(make_user("composer"))
    response = client.get("/notices/deputies" + query)
    assert response.status_code == 400 and list(response.json["errors"]) == ["q"]


def _chosen(page):
    return [(int(i), label) for i, label in re.findall(
        r'<li class="chosen-deputy[^"]*" data-id="(\d+)">\s*<input type="hidden" name="deputy_ids" value="\d+">'
        r'<span class="chosen-label">([^<]+)</span>', page)]


def test_the_page_carries_only_the_chosen_deputies(app, client, login, make_user, roster):
    login(make_user("composer"))
    page = client.get("/notices/new").get_data(as_text=True)
    assert "代表1" not in page and "张三" not in page and _chosen(page) == []  # no roster in the page
    token = csrf_token(client, "/notices/new")
    data = {"csrf_token": token, "title": "个别通知", "body": "{name}代表：请回电。", "category": "meeting",
            "source": "congress", "reply": "none", "then": "save",
            "deputy_ids": [str(roster["zhang"]), str(roster["many"][3])]}
    # A field error (no title): the chosen deputies come back by name, in the order chosen.
    page = client.post("/notices/new", data={**data, "title": ""}).get_data(as_text=True)
    assert _chosen(page) == [(roster["zhang"], "张三 138 0013 8000"), (roster["many"][3], "代表3 139 0000 0003")]
    assert "代表4" not in page
    response = client.post("/notices/new", data=data)
    assert response.status_code == 302
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Notice, notice_id).audience["deputy_ids"] == sorted([roster["zhang"], roster["many"][3]])
    # Editing the draft shows them again; one removed and the draft saved keeps the other.
    page = client.get(f"/notices/{notice_id}/edit").get_data(as_text=True)
    assert sorted(_chosen(page)) == sorted([(roster["zhang"], "张三 138 0013 8000"),
                                            (roster["many"][3], "代表3 139 0000 0003")])
    token = csrf_token(client, f"/notices/{notice_id}/edit")
    response = client.post(f"/notices/{notice_id}/edit",
                           data={**data, "csrf_token": token, "deputy_ids": [str(roster["many"][3])]})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Notice, notice_id).audience["deputy_ids"] == [roster["many"][3]]


def test_a_deputy_no_longer_on_the_roster_shows_by_id_with_the_error(client, login, make_user, roster):
    login(make_user("composer"))
    token = csrf_token(client, "/notices/new")
    response = client.post("/notices/new", data={"csrf_token": token, "title": "个别通知", "body": "请回电。",
                                                 "category": "meeting", "source": "congress", "reply": "none",
                                                 "then": "save", "deputy_ids": [str(roster["zhang"]), "999999"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and _chosen(page) == [(roster["zhang"], "张三 138 0013 8000"), (999999, "#999999")]
    assert "999999" in re.search(r'id="group-deputy_ids".*?</div>\s*</fieldset>', page, re.S).group(0)
    assert "field-error" in page
