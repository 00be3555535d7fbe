"""GET/POST /api/v1/deputies and GET/PATCH /api/v1/deputies/<id>, against the real database."""
import pytest

from notifier.roster.models import Deputy, Tag
from tests.api.conftest import assert_error, audit_actions, count

URL = "/api/v1/deputies"


def phone(n):
    return f"1380013{n:04d}"


def create(api, **fields):
    body = {"name": "王芳", "phone": phone(1), **fields}
    response = api.post(URL, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- create ------------------------------------------------------------------------------------


def test_create_normalises_and_returns_the_deputy(api, app):
    response = api.post(
        URL,
        json={
            "name": " 王芳 ",
            "phone": "+86 138-0013-8000",
            "levels": ["县人大代表", "national"],
            "constituency": "城关镇选区",
            "organisation": "县第一中学",
            "title": "校长",
            "tags": ["教育", "连任"],
            "active": True,
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "王芳"
    assert body["phone"] == "+8613800138000"
    assert body["levels"] == ["national", "county"]
    assert sorted(body["tags"]) == ["教育", "连任"]
    assert body["active"] is True and body["opted_out"] is False
    assert body["opted_out_at"] is None and body["created_at"]
    assert api.get(f"{URL}/{body['id']}").get_json() == body
    assert count(app, Deputy) == 1
    actions = audit_actions(app)
    assert actions[-1][0] == "deputy.create" and actions[-1][1].startswith("admin")


def test_create_needs_name_and_phone(api):
    messages = assert_error(api.post(URL, json={}), 422, "json")
    assert set(messages) == {"name", "phone"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "010-12345678"}, "phone"),  # a Beijing landline
        ({"phone": 13800138000}, "phone"),  # a number, not a string
        ({"phone": ""}, "phone"),
        ({"levels": ["国务院"]}, "levels"),
        ({"levels": "national"}, "levels"),  # a list is expected
        ({"levels": [1]}, "levels"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": None}, "name"),
        ({"name": ["王芳"]}, "name"),
        ({"name": "王\x00芳"}, "name"),
        ({"organisation": "单" * 256}, "organisation"),
        ({"constituency": "x" * 129}, "constituency"),
        ({"title": 5}, "title"),
        ({"tags": "教育"}, "tags"),
        ({"tags": ["x" * 65]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"active": "yes"}, "active"),
        ({"active": 1}, "active"),
        ({"opted_out": True}, "opted_out"),  # not settable on create
        ({"colour": "red"}, "colour"),
    ],
)
def test_create_rejects_bad_fields(api, app, body, field):
    response = api.post(URL, json={"name": "王芳", "phone": phone(1), **body})
    messages = assert_error(response, 422, "json", field)
    assert messages
    assert count(app, Deputy) == 0


def test_duplicate_phone_is_a_422_on_phone(api, app):
    create(api, phone="13800138000")
    response = api.post(URL, json={"name": "李强", "phone": "+86 13800138000"})
    (message,) = assert_error(response, 422, "json", "phone")
    assert count(app, Deputy) == 1


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b'{"name": "x",', "application/json", 400),  # malformed JSON
        (b"", "application/json", 400),
        (b"name=x&phone=13800138000", "application/x-www-form-urlencoded", 415),
        (b"hello", "text/plain", 415),
        (b"[1, 2]", "application/json", 422),  # not an object
        (b'"text"', "application/json", 422),
        (b"null", "application/json", 422),
    ],
)
def test_bodies_that_are_not_a_json_object(api, app, data, content_type, status):
    response = api.post(URL, data=data, headers={"Content-Type": content_type})
    assert_error(response, status, "json")
    assert count(app, Deputy) == 0


def test_errors_follow_accept_language(api):
    zh = api.post(URL, json={"name": "王芳", "phone": "12345", "x": 1}, headers={"Accept-Language": "zh-CN"})
    en = api.post(URL, json={"name": "王芳", "phone": "12345", "x": 1}, headers={"Accept-Language": "en-US,en;q=0.9"})
    zh_body, en_body = zh.get_json(), en.get_json()
    assert en_body["errors"]["json"]["x"] == ["Unknown field."]
    assert zh_body["errors"]["json"]["x"] != ["Unknown field."]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh_body["errors"]["json"]["x"][0])
    # The domain's own messages (flask_babel in notifier.roster) follow the same choice.
    zh = api.post(URL, json={"name": "王芳", "phone": "12345"}, headers={"Accept-Language": "zh"})
    en = api.post(URL, json={"name": "王芳", "phone": "12345"}, headers={"Accept-Language": "en"})
    assert zh.get_json()["errors"]["json"]["phone"] != en.get_json()["errors"]["json"]["phone"]
    assert en.get_json()["message"] == "Some fields are not valid."
    assert zh.get_json()["message"] == "部分字段无效。"


# --- read --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/999", "/0", "/abc", "/99999999999999999999", "/-1", "/1/extra"])
def test_missing_deputy_is_a_json_404(api, path):
    assert_error(api.get(URL + path), 404, "_request")


def test_wrong_method_is_json(api):
    response = api.client.delete(URL, headers=api.headers)
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


# --- update ------------------------------------------------------------------------------------


def test_patch_changes_only_what_is_sent_and_audits_it(api, app):
    deputy = create(api, levels=["county"], tags=["教育"], organisation="一中")
    response = api.patch(f"{URL}/{deputy['id']}", json={"title": "副校长", "levels": ["省级", "县级"]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "副校长"
    assert body["levels"] == ["provincial", "county"]
    assert body["organisation"] == "一中" and body["tags"] == ["教育"] and body["phone"] == deputy["phone"]
    action, _actor, detail = audit_actions(app)[-1]
    assert action == "deputy.update"
    assert sorted(detail["fields"]) == ["levels", "title"]


def test_patch_validates_like_create(api, app):
    deputy = create(api)
    other = create(api, phone=phone(2))
    url = f"{URL}/{deputy['id']}"
    assert_error(api.patch(url, json={"phone": "12345"}), 422, "json", "phone")
    assert_error(api.patch(url, json={"phone": other["phone"]}), 422, "json", "phone")
    assert_error(api.patch(url, json={"levels": ["乡级"]}), 422, "json", "levels")
    assert_error(api.patch(url, json={"name": ""}), 422, "json", "name")
    assert_error(api.patch(url, json={"id": 5}), 422, "json", "id")
    assert_error(api.patch(url, data="x", headers={"Content-Type": "text/plain"}), 415, "json")
    assert api.get(url).get_json() == deputy


def test_patch_with_nothing_changes_nothing(api, app):
    deputy = create(api)
    before = len(audit_actions(app))
    response = api.patch(f"{URL}/{deputy['id']}", json={})
    assert response.status_code == 200 and response.get_json() == deputy
    assert len(audit_actions(app)) == before


def test_patch_missing_deputy(api):
    assert_error(api.patch(f"{URL}/424242", json={"title": "x"}), 404, "_request")


def test_opt_out_is_for_admins_with_a_reason(api, api_as, app):
    deputy = create(api)
    url = f"{URL}/{deputy['id']}"
    for role in ("composer", "approver"):
        assert_error(api_as(role).patch(url, json={"opted_out": True, "reason": "电话要求"}), 403, "json", "opted_out")
    assert_error(api.patch(url, json={"opted_out": True}), 422, "json", "reason")
    assert_error(api.patch(url, json={"reason": "电话要求"}), 422, "json", "reason")
    assert_error(api.patch(url, json={"opted_out": "true", "reason": "x"}), 422, "json", "opted_out")
    assert api.get(url).get_json()["opted_out"] is False

    response = api.patch(url, json={"opted_out": True, "reason": "本人电话要求停止发送"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["opted_out"] is True and body["opted_out_at"]
    assert "本人电话要求停止发送" in body["opted_out_via"]
    action, _actor, detail = audit_actions(app)[-1]
    assert action == "deputy.opt_out" and "本人电话要求停止发送" in detail["reason"]

    response = api.patch(url, json={"opted_out": False, "reason": "恢复", "title": "主任"})
    assert response.get_json()["opted_out"] is False and response.get_json()["title"] == "主任"


def test_opt_out_with_an_invalid_field_writes_nothing(api, app):
    deputy = create(api)
    url = f"{URL}/{deputy['id']}"
    before = len(audit_actions(app))
    assert_error(api.patch(url, json={"opted_out": True, "reason": "x", "phone": "123"}), 422, "json", "phone")
    assert api.get(url).get_json()["opted_out"] is False
    assert len(audit_actions(app)) == before


# --- list, filters, pagination -----------------------------------------------------------------


@pytest.fixture
def roster(api):
    """Five deputies with different levels, tags and states."""
    rows = [
        {"name": "王芳", "phone": phone(1), "levels": ["national"], "tags": ["教育"], "organisation": "县一中"},
        {"name": "李强", "phone": phone(2), "levels": ["county"], "tags": ["农业"], "organisation": "城关镇"},
        {"name": "张伟", "phone": phone(3), "levels": ["provincial", "county"], "tags": ["教育", "连任"]},
        {"name": "刘洋", "phone": "13912345678", "levels": ["municipal"], "active": False},
        {"name": "陈静", "phone": phone(5), "levels": ["county"], "organisation": "县医院"},
    ]
    made = {row["name"]: create(api, **row) for row in rows}
    api.patch(f"{URL}/{made['陈静']['id']}", json={"opted_out": True, "reason": "退订"})
    return made


def names(response):
    assert response.status_code == 200, response.get_json()
    return sorted(item["name"] for item in response.get_json()["items"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["刘洋", "张伟", "李强", "王芳", "陈静"]),
        ("?q=王", ["王芳"]),
        ("?q=县一", ["王芳"]),  # organisation
        ("?q=12345", ["刘洋"]),  # part of the number
        ("?q=1391234", ["刘洋"]),
        ("?level=county", ["张伟", "李强", "陈静"]),
        ("?level=national&level=municipal", ["刘洋", "王芳"]),
        ("?level=national,municipal", ["刘洋", "王芳"]),
        ("?level=全国人大代表", ["王芳"]),
        ("?tag=教育", ["张伟", "王芳"]),
        ("?tag=农业,连任", ["张伟", "李强"]),
        ("?active=false", ["刘洋"]),
        ("?opted_out=true", ["陈静"]),
        ("?level=county&opted_out=false", ["张伟", "李强"]),
        ("?q=nobody", []),
        ("?q=%25", []),  # LIKE wildcards are literal
        ("?q=_", []),
    ],
)
def test_filters(api_as, roster, query, expected):
    assert names(api_as("viewer").get(URL + query)) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=abc", "limit"),
        ("?limit=-5", "limit"),
        ("?cursor=garbage!", "cursor"),
        ("?cursor=aWQ6eA", "cursor"),  # "id:x"
        ("?cursor=Zm9vOjE", "cursor"),  # "foo:1"
        ("?cursor=aWQ6LTE", "cursor"),  # "id:-1"
        ("?cursor=aWQ6OTk5OTk5OTk5OTk5OTk", "cursor"),  # beyond any id
        ("?level=乡级", "level"),
        ("?active=maybe", "active"),
        ("?q=" + "x" * 101, "q"),
        ("?q=%00", "q"),
    ],
)
def test_bad_query_parameters(api, query, field):
    assert_error(api.get(URL + query), 422, "query", field)


def test_pagination_walks_every_row_exactly_once(api, app):
    with app.app_context():
        from notifier.extensions import db

        db.session.add_all(Deputy(name=f"代表{n:03d}", phone=f"+86{phone(n)}") for n in range(1, 124))
        db.session.commit()
        db.session.remove()
    seen, cursor, pages = [], None, 0
    while True:
        response = api.get(URL, query_string={"limit": 10, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.get_json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 10
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # A row added mid-walk with a higher id is picked up; no row is skipped or repeated.
        if pages == 3:
            create(api, name="新代表", phone="13700000001")
    assert pages == 13
    assert len(seen) == len(set(seen)) == 124
    assert seen == sorted(seen)

    default = api.get(URL).get_json()
    assert len(default["items"]) == 50 and default["next_cursor"]
    everything = api.get(URL + "?limit=500").get_json()
    assert len(everything["items"]) == 124 and everything["next_cursor"] is None


def test_pagination_keeps_filters(api, roster):
    first = api.get(URL + "?level=county&limit=2").get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(URL + f"?level=county&limit=2&cursor={first['next_cursor']}").get_json()
    assert second["next_cursor"] is None
    got = sorted(item["name"] for item in first["items"] + second["items"])
    assert got == ["张伟", "李强", "陈静"]


def test_tags_are_created_once(api, app):
    create(api, tags=["教育"])
    create(api, phone=phone(2), tags=["教育", "新"])
    assert count(app, Tag) == 2
