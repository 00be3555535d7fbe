"""Lockout per account: five failures in a row, from any mix of addresses, lock the account for
a while, even for the right password; the audit trail says so; unlocking (CLI) ends it sooner."""
import datetime as dt

import pytest
import time_machine

from notifier.accounts.models import User
from notifier.audit.models import AuditEvent
from notifier.extensions import db
from tests.conftest import PASSWORD, csrf_token

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _attempt(app, username, password, address):
    """A login from its own browser at `address` (so the per-address limit never applies)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(client)})
    return client, response


def _actions(app):
    with app.app_context():
        return [(e.action, e.detail) for e in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def test_failures_from_many_addresses_lock_the_account(app, make_user, clock):
    user = make_user("composer")
    for i in range(5):
        _client, response = _attempt(app, user.username, "wrong-password", f"10.0.0.{i + 1}")
        assert response.status_code == 200
    _client, response = _attempt(app, user.username, PASSWORD, "10.0.1.1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "已被锁定" in page  # the right password, refused
    locks = [d for a, d in _actions(app) if a == "auth.locked"]
    assert locks == [{"username": user.username, "attempts": 5, "minutes": 15}]

    clock.shift(dt.timedelta(minutes=14))
    assert _attempt(app, user.username, PASSWORD, "10.0.1.2")[1].status_code == 200
    clock.shift(dt.timedelta(minutes=2))
    assert _attempt(app, user.username, PASSWORD, "10.0.1.3")[1].status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).failed_logins == 0


def test_a_success_starts_the_count_again(app, make_user):
    user = make_user("viewer")
    for _round in range(2):
        for i in range(4):
            _attempt(app, user.username, "wrong-password", f"10.0.2.{i}")
        assert _attempt(app, user.username, PASSWORD, "10.0.2.9")[1].status_code == 302
    assert not [a for a, _d in _actions(app) if a == "auth.locked"]


def test_wrong_second_step_codes_count_too(app, make_user, login):
    user = make_user("admin")
    login(user)  # enrolled
    client, response = _attempt(app, user.username, PASSWORD, "10.0.3.1")
    token = csrf_token(client, "/two-factor")
    for _ in range(4):
        assert client.post("/two-factor", data={"code": "000001", "csrf_token": token}).status_code == 200
    last = client.post("/two-factor", data={"code": "000001", "csrf_token": token})
    assert last.status_code == 302 and last.headers["Location"] == "/login"
    assert _attempt(app, user.username, PASSWORD, "10.0.3.2")[1].status_code == 200  # locked
    assert [d["reason"] for a, d in _actions(app) if a == "auth.login_failed"][:5] == ["second_factor"] * 5


def test_cli_unlocks(app, make_user):
    user = make_user("viewer")
    for i in range(5):
        _attempt(app, user.username, "wrong-password", f"10.0.4.{i}")
    assert _attempt(app, user.username, PASSWORD, "10.0.4.9")[1].status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "unlock", user.username])
    assert result.exit_code == 0, result.output
    assert _attempt(app, user.username, PASSWORD, "10.0.4.10")[1].status_code == 302
    assert ("auth.unlock", "cli") in [(a, e) for a, e in
                                      ((ev.action, ev.actor) for ev in _events(app, "auth.unlock"))]


def _events(app, action):
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == action)).scalars().all()
        for row in rows:
            db.session.expunge(row)
        return rows
