"""Who may open which page: login first, then the role (403 otherwise); CSRF; login rate limit."""
import pytest

from tests.conftest import csrf_token

ROLES = ("viewer", "composer", "approver", "admin", "security_admin", "auditor")
EVERYONE = {"viewer", "composer", "approver", "admin"}  # the office's staff; the other duties have their own pages
EDITORS = {"composer", "approver", "admin"}
ADMINS = {"admin"}
AUDITORS = {"auditor"}
SECURITY = {"security_admin"}


def page_rules(deputy_id, token_id, user_id):
    """(path, roles that get 200): every page the admin UI has."""
    return [
        ("/", EVERYONE),
        ("/deputies/", EVERYONE),
        ("/deputies/download/csv/", EVERYONE),
        ("/deputies/download/xlsx/", EVERYONE),
        ("/deputies/new/", EDITORS),
        (f"/deputies/edit/?id={deputy_id}", EDITORS),
        (f"/deputies/opt-out/?id={deputy_id}", EDITORS),
        ("/roster/import/", EDITORS),
        ("/roster/import/template/xlsx/", EDITORS),
        ("/roster/import/template/csv/", EDITORS),
        ("/users/", ADMINS),
        ("/users/new/", ADMINS),
        (f"/users/edit/?id={user_id}", ADMINS),
        ("/tokens/", ADMINS),
        ("/tokens/issue/", ADMINS),
        (f"/tokens/revoke/?id={token_id}", ADMINS),
        ("/audit/", AUDITORS),
        ("/security/", SECURITY),
        ("/groups/", EVERYONE),
        ("/meetings/", EVERYONE),
        ("/suggestions/", EVERYONE),
        ("/suggestions/?overdue=1", EVERYONE),
        ("/suggestions/new", EDITORS),
        ("/duty-records/", EVERYONE),
        (f"/duty-records/deputy/{deputy_id}", EVERYONE),
        ("/duty-records/export.xlsx", EVERYONE),
    ]


@pytest.fixture
def fixtures(app, make_user, add_deputy):
    from notifier.accounts.models import User
    from notifier.accounts.service import issue_token
    from notifier.extensions import db

    deputy_id = add_deputy("张三", "13800138000", levels="county")
    owner = make_user("composer", username="owner")
    with app.app_context():
        token, _ = issue_token(db.session.get(User, owner.id), name="ci")
        token_id = token.id
    return deputy_id, token_id, owner.id


def test_every_page_needs_login(client, fixtures):
    for path, _roles in page_rules(*fixtures):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_anonymous_posts_go_to_login_not_through(client, fixtures, app):
    deputy_id = fixtures[0]
    token = csrf_token(client, "/login")
    for path in ("/deputies/new/", f"/deputies/edit/?id={deputy_id}", "/roster/import/", "/users/new/", "/tokens/issue/"):
        response = client.post(path, data={"csrf_token": token, "name": "x", "phone": "13900139000"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 1


@pytest.mark.parametrize("role", ROLES)
def test_page_matrix(role, as_role, fixtures):
    client, _user = as_role(role)
    for path, allowed in page_rules(*fixtures):
        response = client.get(path)
        if path == "/" and role in SECURITY | AUDITORS:
            assert response.status_code == 302  # to their own page (test_menu_follows_the_role)
            continue
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, path, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_menu_follows_the_role(role, as_role, fixtures):
    client, _user = as_role(role)
    response = client.get("/")
    if role in ("security_admin", "auditor"):  # straight to their own page
        assert response.headers["Location"] == {"security_admin": "/security/", "auditor": "/audit/"}[role]
        html = client.get(response.headers["Location"]).get_data(as_text=True)
        assert 'href="/deputies/"' not in html and 'href="/users/"' not in html
        assert ('href="/audit/"' in html) == (role == "auditor") and ('href="/security/"' in html) == (role != "auditor")
        return
    html = response.get_data(as_text=True)
    assert 'href="/deputies/"' in html
    assert ('href="/roster/import/"' in html) == (role in EDITORS)
    for admin_page in ('href="/users/"', 'href="/tokens/"'):
        assert (admin_page in html) == (role == "admin"), (role, admin_page)
    assert 'href="/audit/"' not in html and 'href="/security/"' not in html
    deputies = client.get("/deputies/").get_data(as_text=True)
    assert ('href="/deputies/new/' in deputies) == (role in EDITORS)


def test_viewer_cannot_change_the_roster(as_role, fixtures, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    deputy_id = fixtures[0]
    client, _ = as_role("viewer")
    token = csrf_token(client, "/deputies/")
    posts = {
        "/deputies/new/": {"name": "李四", "phone": "13900139000"},
        f"/deputies/edit/?id={deputy_id}": {"name": "改名", "phone": "13800138000"},
        "/deputies/action/": {"action": "deactivate", "rowid": str(deputy_id)},
        f"/deputies/opt-out/?id={deputy_id}": {"reason": "电话"},
        "/deputies/delete/": {"id": str(deputy_id)},
        "/roster/import/": {},
        "/roster/import/apply/": {"import_id": "0" * 32},
    }
    for path, data in posts.items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
    with app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert (deputy.name, deputy.active, deputy.opted_out) == ("张三", True, False)
        assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 1


@pytest.mark.parametrize("role", ["viewer", "composer", "approver", "security_admin", "auditor"])
def test_only_admins_post_to_admin_pages(role, as_role, fixtures, app):
    from notifier.accounts.models import ApiToken, User
    from notifier.extensions import db

    _deputy_id, token_id, user_id = fixtures
    client, _ = as_role(role)
    token = csrf_token(client, "/account/two-factor/")
    posts = {
        "/users/new/": {"username": "intruder", "role": "admin", "password": "long-enough-1"},
        f"/users/edit/?id={user_id}": {"role": "admin", "display_name": "x", "active": "y"},
        "/tokens/issue/": {"user_id": str(user_id), "name": "x"},
        f"/tokens/revoke/?id={token_id}": {},
    }
    for path, data in posts.items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, (role, path)
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.username == "intruder")) is None
        assert db.session.get(User, user_id).role == "composer"
        assert db.session.get(ApiToken, token_id).revoked_at is None
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 1


def test_nobody_deletes_deputies(as_role, fixtures, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    client, _ = as_role("admin")
    html = client.get("/deputies/").get_data(as_text=True)
    assert "/deputies/delete/" not in html
    response = client.post("/deputies/delete/", data={"id": str(fixtures[0]), "csrf_token": csrf_token(client, "/deputies/")})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Deputy, fixtures[0]) is not None


def test_post_without_csrf_token_is_rejected(as_role, fixtures, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    deputy_id, token_id, _user_id = fixtures
    client, _ = as_role("admin")
    for path, data in {
        "/deputies/new/": {"name": "李四", "phone": "13900139000"},
        f"/deputies/edit/?id={deputy_id}": {"name": "改名", "phone": "13800138000"},
        "/users/new/": {"username": "sneaky", "role": "admin", "password": "long-enough-1"},
        f"/tokens/revoke/?id={token_id}": {},
        "/tokens/issue/": {"user_id": "1"},
        "/roster/import/": {},
        "/language": {"locale": "en"},
    }.items():
        assert client.post(path, data=data).status_code == 400, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400, path
    with app.app_context():
        assert db.session.get(Deputy, deputy_id).name == "张三"
        assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 1


def test_eleventh_bad_login_within_a_minute_gets_429(client, make_user):
    user = make_user("admin")
    token = csrf_token(client, "/login")
    statuses = [
        client.post("/login", data={"username": user.username, "password": "wrong", "csrf_token": token}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    # Even the right password is refused until the window passes.
    right = client.post("/login", data={"username": user.username, "password": "correct-horse-42", "csrf_token": token})
    assert right.status_code == 429
