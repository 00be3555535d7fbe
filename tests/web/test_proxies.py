"""Behind a reverse proxy every request comes from the proxy's address. With TRUSTED_PROXIES set,
the login limit and the audit trail see each client's own address; without it, a client's own
X-Forwarded-For changes nothing (it cannot slip out of the limit)."""
import pytest

from notifier import create_app
from notifier.audit.models import AuditEvent
from notifier.extensions import db
from tests.conftest import PASSWORD, csrf_token

PROXY = "10.0.0.1"


@pytest.fixture(scope="module")
def proxied_app(app):
    return create_app("testing", TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT="3 per minute")


def _client(app, forwarded_for=None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _login(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)}).status_code


def _audited_ips(app, action):
    with app.app_context():
        return [e.ip for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)
                                                  .order_by(AuditEvent.id))]


def test_one_client_locked_out_does_not_lock_out_the_others(proxied_app, make_user):
    user = make_user("viewer")
    noisy = _client(proxied_app, "203.0.113.7")
    assert [_login(noisy, user.username, "wrong") for _ in range(4)] == [200, 200, 200, 429]
    # The same client claiming another address before ours: the proxy's entry is the one believed.
    assert _login(_client(proxied_app, "198.18.0.1, 203.0.113.7"), user.username, "wrong") == 429

    other = _client(proxied_app, "198.51.100.9")
    assert _login(other, user.username, PASSWORD) == 302
    assert _audited_ips(proxied_app, "auth.login") == ["198.51.100.9"]
    assert set(_audited_ips(proxied_app, "auth.login_failed")) == {"203.0.113.7"}


def test_without_trusted_proxies_a_forwarded_header_is_ignored(app, make_user):
    user = make_user("viewer")
    saved = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [_login(_client(app, f"203.0.113.{n}"), user.username, "wrong") for n in range(4)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = saved
    assert codes == [200, 200, 200, 429]
    assert set(_audited_ips(app, "auth.login_failed")) == {PROXY}
