"""Bearer tokens only: missing, garbage and revoked tokens, disabled users, session cookies, roles."""
import io

import pytest

from notifier.accounts.models import ApiToken, User
from notifier.extensions import db
from notifier.roster.models import Deputy
from tests.api.conftest import ROLES, assert_error, count, csv_file

URL = "/api/v1/deputies"
BODY = {"name": "王芳", "phone": "13800138000"}
CSV = csv_file([["姓名", "手机号码"], ["李强", "13900139000"]])


def every_endpoint(deputy_id):
    """(method, path, request kwargs) for every API operation."""
    return [
        ("GET", URL, {}),
        ("POST", URL, {"json": BODY}),
        ("GET", f"{URL}/{deputy_id}", {}),
        ("PATCH", f"{URL}/{deputy_id}", {"json": {"title": "主任"}}),
        ("POST", f"{URL}/import?dry_run=true", {"data": {"file": (io.BytesIO(CSV), "r.csv")}}),
        ("POST", f"{URL}/import", {"data": {"file": (io.BytesIO(CSV), "r.csv")}}),
    ]


@pytest.fixture
def deputy_id(app):
    with app.app_context():
        deputy = Deputy(name="张伟", phone="+8613700137000")
        db.session.add(deputy)
        db.session.commit()
        return deputy.id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer ntf_not-a-real-token"},
        {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="},
        {"Authorization": "garbage"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_no_valid_token_is_401_everywhere(client, app, deputy_id, headers):
    for method, path, kwargs in every_endpoint(deputy_id):
        response = client.open(path, method=method, headers=headers, **kwargs)
        (message,) = assert_error(response, 401, "_request")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Location" not in response.headers  # JSON, not a redirect to /login
    assert count(app, Deputy) == 1


def test_revoked_token_and_disabled_user(api_as, app, deputy_id):
    from notifier.accounts.service import revoke_token

    api = api_as("admin")
    assert api.get(URL).status_code == 200
    with app.app_context():
        for row in db.session.scalars(db.select(ApiToken)):
            revoke_token(row, actor="test")
    response = api.get(URL)
    assert_error(response, 401, "_request")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

    other = api_as("admin", username="later")
    assert other.get(URL).status_code == 200
    with app.app_context():
        db.session.scalars(db.select(User).where(User.username == "later")).one().active = False
        db.session.commit()
    assert_error(other.get(URL), 401, "_request")


def test_session_cookie_does_not_authenticate_the_api(client, make_user, login, app, deputy_id):
    """A logged-in browser must not reach the API: no CSRF token is asked for there."""
    login(make_user("admin"))
    assert client.get("/").status_code == 200  # the session works for pages
    for method, path, kwargs in every_endpoint(deputy_id):
        response = client.open(path, method=method, **kwargs)
        assert_error(response, 401, "_request")
    assert count(app, Deputy) == 1


def test_token_wins_over_a_session_cookie(client, make_user, login, token_for, app):
    login(make_user("admin"))
    viewer = make_user("viewer")
    response = client.post(URL, json=BODY, headers=token_for(viewer))
    assert_error(response, 403, "_request")
    assert count(app, Deputy) == 0


def test_token_use_is_recorded_and_no_session_is_made(api_as, app):
    api = api_as("viewer")
    response = api.get(URL)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        assert db.session.scalars(db.select(ApiToken)).one().last_used_at is not None


@pytest.mark.parametrize("role", ROLES)
def test_roles(api_as, app, deputy_id, role):
    """Everyone may read; writing needs edit_roster (composer, approver, admin)."""
    api = api_as(role)
    may_write = role != "viewer"
    for method, path, kwargs in every_endpoint(deputy_id):
        response = api._call(method, path, **kwargs)
        if method == "GET" or may_write:
            assert response.status_code in (200, 201), (method, path, response.get_json())
        else:
            assert_error(response, 403, "_request")
    assert count(app, Deputy) == (3 if may_write else 1)


def test_viewer_gets_403_before_validation(api_as):
    viewer = api_as("viewer")
    assert_error(viewer.post(URL, json={"bogus": True}), 403, "_request")
    assert_error(viewer.post(URL, data="x", headers={"Content-Type": "text/plain"}), 403, "_request")
    assert_error(viewer.post(f"{URL}/import"), 403, "_request")


def test_401_in_chinese_by_default_and_english_on_request(client):
    zh = client.get(URL).get_json()
    en = client.get(URL, headers={"Accept-Language": "en"}).get_json()
    assert en["message"].startswith("Authentication required")
    assert zh["message"] != en["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"])


def test_token_users_locale_when_no_accept_language(api_as):
    api = api_as("admin", locale="en")
    assert api.post(URL, json={}).get_json()["message"] == "Some fields are not valid."
    zh = api.post(URL, json={}, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    assert zh["message"] == "部分字段无效。"


def test_openapi_document_is_public_and_pages_keep_html_errors(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    response = client.get("/no-such-page")
    assert response.status_code == 404 and not response.is_json
    assert_error(client.get("/api/v1/no-such-thing"), 404, "_request")
