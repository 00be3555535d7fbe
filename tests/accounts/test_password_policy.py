"""The password policy: length, character classes, not the username, not one of the last few;
enforced by `notifier users create`, the users page and the change form; an expired password or
one an administrator set leads to the change form before anything else."""
import datetime as dt

import pytest
import time_machine

from notifier.accounts import passwords
from notifier.accounts.models import User
from notifier.accounts.service import AccountError, change_password, create_user
from notifier.extensions import db
from tests.conftest import PASSWORD, csrf_token, finish_login


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("password, why", [
    ("Sh0rt-1", "At least 10 characters"),
    ("alllowercaseletters", "at least 3 of"),
    ("lowercase-and-signs", "at least 3 of"),
    ("wangwei-2026-spring", "must not contain the username"),
])
def test_weak_passwords_are_refused_with_the_reason(ctx, password, why, app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        found = " ".join(passwords.problems(password, "WangWei"))
    assert why in found


def test_a_good_password_passes_and_generated_ones_always_do(ctx):
    assert passwords.problems("Spring-rain-2026", "wangwei") == []
    assert all(passwords.problems(passwords.generate(), "wangwei") == [] for _ in range(50))


def test_cli_create_checks_the_policy(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "zhao", "--role", "composer", "--password", "zhao-12345678"])
    assert weak.exit_code != 0 and "用户名" in weak.output  # the reason, in the default language
    short = runner.invoke(args=["users", "create", "qian", "--role", "composer", "--password", "abc"])
    assert short.exit_code != 0
    ok = runner.invoke(args=["users", "create", "sun", "--role", "composer", "--must-change"])
    assert ok.exit_code == 0, ok.output
    printed = ok.output.split("password: ")[1].strip()
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == "sun")).scalar_one()
        assert user.check_password(printed) and user.must_change_password
        assert db.session.execute(db.select(User).where(User.username.in_(["zhao", "qian"]))).first() is None


def test_the_last_five_passwords_are_refused(ctx):
    user, _ = create_user("li", "composer", password=PASSWORD)
    used = [PASSWORD] + [f"Autumn-leaf-{i}x" for i in range(5)]
    for old, new in zip(used, used[1:], strict=False):
        change_password(user, old, new)
    current = used[-1]
    for old in used[1:-1]:  # the four before the current one, still in the history
        with pytest.raises(AccountError) as refused:
            change_password(user, current, old)
        assert refused.value.field == "new_password"
    change_password(user, current, "Winter-snow-99")
    change_password(user, "Winter-snow-99", PASSWORD)  # the sixth back is allowed again


def _login(app, username, password=PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(client)})
    finish_login(client, app, response, username)
    return client


def test_an_expired_password_must_be_changed_first(app, make_user, clock):
    user = make_user("composer")
    client = _login(app, user.username)
    assert client.get("/notices/").status_code == 200
    clock.shift(dt.timedelta(days=91))
    client = _login(app, user.username)
    response = client.get("/notices/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password/"
    page = client.get("/account/password/")
    assert page.status_code == 200 and 'id="password-rules"' in page.get_data(as_text=True)
    token = csrf_token(client, "/account/password/")
    refused = client.post("/account/password/", data={"current_password": PASSWORD, "new_password": "weak",
                                                      "confirm": "weak", "csrf_token": token})
    assert refused.status_code == 200
    assert client.get("/notices/").status_code == 302
    changed = client.post("/account/password/", data={"current_password": PASSWORD, "new_password": "Fresh-start-2027",
                                                      "confirm": "Fresh-start-2027", "csrf_token": token})
    assert changed.status_code == 302
    assert client.get("/notices/").status_code == 200


def test_a_password_an_administrator_set_is_replaced_at_the_next_login(app, make_user, login):
    user = make_user("viewer")
    admin = login(make_user("admin"))
    path = f"/users/edit/?id={user.id}"
    token = csrf_token(admin, path)
    weak = admin.post(path, data={"display_name": "x", "role": "viewer", "active": "y", "new_password": "password1",
                                  "csrf_token": token})
    assert weak.status_code == 200  # shown again with the reason
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)
    admin.post(path, data={"display_name": "x", "role": "viewer", "active": "y", "new_password": "Given-by-admin-1",
                           "csrf_token": token})
    client = _login(app, user.username, "Given-by-admin-1")
    assert client.get("/deputies/").headers["Location"] == "/account/password/"
