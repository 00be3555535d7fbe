"""Two-factor login: enrolment with a QR code on the first login of an admin or approver, the
second step at every later login, wrong and replayed codes refused, recovery codes used once,
opting in for other roles, and `notifier users totp NAME`."""
import re
import time

import pyotp
import pytest

from notifier.accounts.models import User
from notifier.audit.models import AuditEvent
from notifier.extensions import db
from tests.conftest import PASSWORD, csrf_token, totp_code


def _password_step(client, username, password=PASSWORD):
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    return response


def _stored(app, username):
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        db.session.expunge(user)
        return user


def _post_code(client, code):
    return client.post("/two-factor", data={"code": code, "csrf_token": csrf_token(client, "/two-factor")})


def _logged_in(client):
    response = client.get("/account/two-factor/")  # a page every role has
    return response.status_code == 200


@pytest.mark.parametrize("role", ["admin", "approver", "security_admin", "auditor"])
def test_first_login_enrols_with_a_qr_code_then_asks_every_time(app, client, make_user, role):
    user = make_user(role)
    response = _password_step(client, user.username)
    assert response.headers["Location"] == "/two-factor"
    assert not _logged_in(client)  # the password alone logs nobody in
    page = client.get("/two-factor")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert 'id="totp-qr" src="data:image/svg+xml' in html
    secret = _stored(app, user.username).totp_secret
    assert secret and secret in html
    assert client.get("/two-factor").get_data(as_text=True).count(secret) == 1  # a reload: the same secret

    done = _post_code(client, pyotp.TOTP(secret).now())
    codes = re.findall(r'<li class="recovery-code">([a-z0-9-]+)</li>', done.get_data(as_text=True))
    assert len(codes) == 8 and done.headers["Cache-Control"] == "no-store"
    assert _logged_in(client)
    stored = _stored(app, user.username)
    assert stored.totp_enrolled and all(code not in str(stored.recovery_code_hashes) for code in codes)

    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/two-factor/")})
    _password_step(client, user.username)
    second = client.get("/two-factor").get_data(as_text=True)
    assert "totp-qr" not in second and secret not in second  # the secret is never shown again
    assert _post_code(client, totp_code(app, user.username)).status_code == 302
    assert _logged_in(client)
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
        assert actions.count("auth.login") == 2 and "auth.totp_enrol" in actions


def test_a_wrong_code_and_a_reused_code_are_refused(app, client, make_user, login):
    user = make_user("admin")
    login(user)  # enrolled, with the current code used
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/two-factor/")})
    used = _stored(app, user.username)
    totp = pyotp.TOTP(used.totp_secret)
    replayed = totp.generate_otp(used.totp_last_step)

    _password_step(client, user.username)
    wrong = _post_code(client, "000000" if replayed != "000000" else "111111")
    assert wrong.status_code == 200 and 'id="code-error"' in wrong.get_data(as_text=True)
    again = _post_code(client, replayed)
    assert "此验证码已使用过" in again.get_data(as_text=True)
    assert not _logged_in(client)
    assert _post_code(client, totp_code(app, user.username)).status_code == 302
    assert _logged_in(client)
    with app.app_context():
        reasons = [e.detail["reason"] for e in db.session.execute(
            db.select(AuditEvent).where(AuditEvent.action == "auth.second_factor_failed").order_by(AuditEvent.id)).scalars()]
        assert reasons == ["wrong", "reused"]


def test_a_recovery_code_works_once(app, client, make_user):
    user = make_user("approver")
    _password_step(client, user.username)
    client.get("/two-factor")
    done = _post_code(client, pyotp.TOTP(_stored(app, user.username).totp_secret).now())
    code = re.findall(r'<li class="recovery-code">([a-z0-9-]+)</li>', done.get_data(as_text=True))[0]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/two-factor/")})

    _password_step(client, user.username)
    assert _post_code(client, code.upper()).status_code == 302  # typed in capitals, still the code
    assert _logged_in(client)
    assert len(_stored(app, user.username).recovery_code_hashes) == 7
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/two-factor/")})
    _password_step(client, user.username)
    assert _post_code(client, code).status_code == 200
    assert not _logged_in(client)


def test_the_second_step_expires_and_needs_the_password_first(app, client, make_user, time_machine):
    user = make_user("admin")
    assert client.get("/two-factor").status_code == 302  # nothing pending: back to the login page
    _password_step(client, user.username)
    token = csrf_token(client, "/two-factor")
    time_machine.move_to(time.time() + 301, tick=False)
    response = client.post("/two-factor", data={"code": totp_code(app, user.username), "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_other_roles_log_in_with_the_password_and_may_turn_it_on(app, client, make_user):
    user = make_user("composer")
    assert _password_step(client, user.username).headers["Location"] == "/"
    page = client.get("/account/two-factor/").get_data(as_text=True)
    assert 'id="turn-on-2fa"' in page
    response = client.post("/account/two-factor/", data={"csrf_token": csrf_token(client, "/account/two-factor/")})
    assert response.headers["Location"] == "/two-factor"
    client.get("/two-factor")
    assert _post_code(client, totp_code(app, user.username)).status_code == 200
    assert _stored(app, user.username).totp_enrolled
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/two-factor/")})
    assert _password_step(client, user.username).headers["Location"] == "/two-factor"


def test_cli_reissues_the_secret_and_prints_its_uri(app, make_user, client):
    user = make_user("admin")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "totp", user.username])
    assert result.exit_code == 0, result.output
    uri = result.output.splitlines()[0]
    assert uri.startswith("otpauth://totp/") and user.username in uri
    secret = pyotp.parse_uri(uri).secret
    assert _stored(app, user.username).totp_secret == secret
    _password_step(client, user.username)
    assert "totp-qr" not in client.get("/two-factor").get_data(as_text=True)  # in force at once
    assert _post_code(client, pyotp.TOTP(secret).now()).status_code == 302
    assert runner.invoke(args=["users", "totp", "nobody"]).exit_code != 0
