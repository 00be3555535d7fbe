"""The security administrator's page (三员分立): roles, unlocking, a lost second step, another
user's sessions, and the security policy within its floors; each audited."""
from notifier.accounts import passwords
from notifier.accounts.models import User
from notifier.audit.models import AuditEvent
from notifier.extensions import db
from tests.conftest import PASSWORD, csrf_token


def _security(make_user, login, client):
    login(make_user("security_admin", username="anquan"))
    return client, csrf_token(client, "/security/")


def _user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _actions(app):
    with app.app_context():
        return [(e.action, e.actor, e.detail) for e in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def test_roles_are_given_here_and_never_to_oneself(app, make_user, login, client):
    target = make_user("viewer")
    client, token = _security(make_user, login, client)
    assert client.post(f"/security/role?id={target.id}", data={"role": "approver", "csrf_token": token}).status_code == 302
    changed = _user(app, target.id)
    assert changed.role == "approver" and changed.session_generation == 1  # old sessions end with the old role
    assert ("user.role_change", "anquan", {"username": target.username, "old": "viewer", "new": "approver"}) in _actions(app)
    me = db_user(app, "anquan")
    client.post(f"/security/role?id={me.id}", data={"role": "admin", "csrf_token": token})
    assert _user(app, me.id).role == "security_admin"
    page = client.get("/security/").get_data(as_text=True)
    assert f'data-user="{target.username}"' in page


def db_user(app, username):
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        db.session.expunge(user)
        return user


def test_unlock_reset_second_step_and_end_sessions(app, make_user, login, client):
    victim = make_user("approver")
    other = app.test_client()
    for _ in range(5):
        other.post("/login", data={"username": victim.username, "password": "wrong-one", "csrf_token": csrf_token(other)})
    assert _user(app, victim.id).locked_until is not None
    client, token = _security(make_user, login, client)
    assert "解锁" in client.get("/security/").get_data(as_text=True)
    client.post(f"/security/unlock?id={victim.id}", data={"csrf_token": token})
    assert _user(app, victim.id).locked_until is None

    with app.app_context():
        from notifier.accounts import totp

        totp.reissue(db.session.get(User, victim.id))
    generation = _user(app, victim.id).session_generation
    client.post(f"/security/reset-two-factor?id={victim.id}", data={"csrf_token": token})
    reset = _user(app, victim.id)
    assert reset.totp_secret is None and not reset.recovery_code_hashes and reset.session_generation > generation
    client.post(f"/security/end-sessions?id={victim.id}", data={"csrf_token": token})
    assert _user(app, victim.id).session_generation > reset.session_generation
    done = [a for a, actor, _d in _actions(app) if actor == "anquan"]
    assert {"auth.unlock", "auth.totp_reset", "auth.logout_everywhere"} <= set(done)


def test_the_policy_changes_within_its_floors(app, make_user, login, client):
    client, token = _security(make_user, login, client)
    policy = {"min_length": 14, "min_classes": 4, "history": 8, "max_age_days": 60, "lockout_attempts": 3,
              "lockout_minutes": 30}
    assert client.post("/security/policy", data={**policy, "csrf_token": token}).status_code == 302
    with app.test_request_context():
        assert passwords.policy() == policy
        assert passwords.problems("spring-rain-2026", "x")  # 16 characters but 3 kinds: no longer enough
    client.post("/security/policy", data={**policy, "min_length": 4, "lockout_attempts": 50, "csrf_token": token})
    with app.test_request_context():
        assert passwords.policy() == policy  # refused: under the floor / over the ceiling
    assert any(a == "setting.change" for a, *_ in _actions(app))


def test_only_the_security_administrator(app, make_user, login, client):
    for role in ("admin", "auditor", "approver"):
        browser = app.test_client()
        user = make_user(role)
        from tests.conftest import finish_login

        finish_login(browser, app, browser.post("/login", data={"username": user.username, "password": PASSWORD,
                                                                "csrf_token": csrf_token(browser)}), user.username)
        token = csrf_token(browser, "/account/two-factor/")
        assert browser.get("/security/").status_code == 403
        assert browser.post("/security/policy", data={"min_length": 8, "csrf_token": token}).status_code == 403
        assert browser.post(f"/security/role?id={user.id}", data={"role": "security_admin", "csrf_token": token}).status_code == 403
        assert _user(app, user.id).role == role
