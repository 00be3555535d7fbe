"""Sessions end when idle, a bounded time after login, and everywhere when the password changes
or the user logs out on every browser. The clock is moved with time-machine, never waited for."""
import datetime as dt

import pytest
import time_machine

from notifier.audit.models import AuditEvent
from notifier.extensions import db
from tests.conftest import PASSWORD, csrf_token, finish_login

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _login(app, user, remember=False):
    client = app.test_client()
    data = {"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "y"
    response = finish_login(client, app, client.post("/login", data=data), user.username)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:300]
    return client, response


def _logged_in(client):
    response = client.get("/notices/")
    return response.status_code == 200, response


def _login_page_says(client, text):
    page = client.get("/login").get_data(as_text=True)
    return text in page


def test_an_idle_session_ends_and_the_login_page_says_why(app, make_user, clock):
    user = make_user("viewer")
    client, _ = _login(app, user)
    clock.shift(dt.timedelta(minutes=29))
    assert _logged_in(client)[0]
    clock.shift(dt.timedelta(minutes=29))  # 29 minutes since the last page: still fine
    assert _logged_in(client)[0]
    clock.shift(dt.timedelta(minutes=31))
    ok, response = _logged_in(client)
    assert not ok and response.headers["Location"].startswith("/login")
    assert _login_page_says(client, "30 分钟无操作，您已退出登录")
    clock.shift(dt.timedelta(seconds=1))
    assert not _logged_in(client)[0]  # gone for good, not only for that request
    with app.app_context():
        assert db.session.scalar(db.select(AuditEvent.detail).where(AuditEvent.action == "auth.session_expired")) \
            == {"reason": "idle"}


def test_the_pages_own_polling_keeps_no_idle_session_alive(app, make_user, clock):
    user = make_user("viewer")
    client, _ = _login(app, user)
    for _ in range(8):  # 40 minutes of the notice page asking for news by itself
        clock.shift(dt.timedelta(minutes=5))
        assert client.get("/replies/", headers={"X-Notifier-Poll": "1"}).status_code in (200, 302)
    assert not _logged_in(client)[0]


def test_a_busy_session_still_ends_after_its_lifetime(app, make_user, clock):
    user = make_user("viewer")
    client, _ = _login(app, user, remember=True)
    for _ in range(12 * 3):  # a page every 20 minutes for 12 hours
        assert _logged_in(client)[0]
        clock.shift(dt.timedelta(minutes=20))
    clock.shift(dt.timedelta(minutes=1))
    assert not _logged_in(client)[0]
    assert _login_page_says(client, "登录 12 小时后，您已退出登录")


def test_remember_me_keeps_the_cookie_past_the_browser_but_no_longer_than_the_lifetime(app, make_user, clock):
    _, plain = _login(app, make_user("viewer"))
    _, remembered = _login(app, make_user("viewer"), remember=True)
    session_cookie = app.config.get("SESSION_COOKIE_NAME", "session")

    def cookie(response):
        return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(session_cookie + "="))

    assert "Expires=" not in cookie(plain)  # ends with the browser
    expires = cookie(remembered).split("Expires=")[1].split(";")[0]
    assert dt.datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC) \
        == START + dt.timedelta(hours=12)
    # No separate remember-me cookie is handed out (one may be deleted).
    assert not any(c.startswith("remember_token=") and not c.startswith("remember_token=;")
                   for c in remembered.headers.getlist("Set-Cookie"))


def test_a_new_password_ends_the_other_sessions_not_this_one(app, make_user):
    user = make_user("composer")
    here, _ = _login(app, user)
    elsewhere, _ = _login(app, user)
    response = here.post("/account/password/", data={
        "current_password": PASSWORD, "new_password": "another-horse-43", "confirm": "another-horse-43",
        "csrf_token": csrf_token(here, "/account/password/")})
    assert response.status_code == 302
    assert _logged_in(here)[0]
    ok, response = _logged_in(elsewhere)
    assert not ok and response.headers["Location"].startswith("/login")
    assert _login_page_says(elsewhere, "您的会话已结束，请重新登录。")


def test_a_wrong_current_password_changes_nothing(app, make_user):
    user = make_user("composer")
    here, _ = _login(app, user)
    elsewhere, _ = _login(app, user)
    page = here.post("/account/password/", data={
        "current_password": "wrong", "new_password": "another-horse-43", "confirm": "another-horse-43",
        "csrf_token": csrf_token(here, "/account/password/")}).get_data(as_text=True)
    assert "当前密码不正确" in page
    assert _logged_in(elsewhere)[0]


def test_an_administrator_resetting_a_password_ends_that_users_sessions(app, make_user):
    user = make_user("composer")
    theirs, _ = _login(app, user)
    admin, _ = _login(app, make_user("admin"))
    path = f"/users/edit/?id={user.id}"
    response = admin.post(path, data={"display_name": user.username, "role": "composer", "active": "y",
                                      "new_password": "reset-by-admin-1", "csrf_token": csrf_token(admin, path)})
    assert response.status_code == 302
    assert not _logged_in(theirs)[0]
    assert _logged_in(admin)[0]


def test_log_out_on_every_browser(app, make_user):
    user = make_user("viewer")
    here, _ = _login(app, user)
    elsewhere, _ = _login(app, user)
    other_user, _ = _login(app, make_user("viewer"))
    response = here.post("/logout/everywhere", data={"csrf_token": csrf_token(here, "/notices/")})
    assert response.status_code == 302
    assert not _logged_in(here)[0] and not _logged_in(elsewhere)[0]
    assert _logged_in(other_user)[0]
    assert _login(app, user)[1].status_code == 302  # the password still works
