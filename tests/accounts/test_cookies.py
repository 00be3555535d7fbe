"""Session cookies in production: Secure, HttpOnly, SameSite and the __Host- prefix; a SameSite
that would let other sites' requests carry the session is refused at start."""
import pytest

from config import ProductionConfig
from notifier import create_app
from notifier.settings_check import SettingsError
from tests.conftest import PASSWORD, csrf_token


def _production(app, **overrides):
    return create_app(ProductionConfig, SECRET_KEY="production-test-secret",
                      SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      REDIS_URL=app.config["REDIS_URL"], RATELIMIT_STORAGE_URI=app.config["REDIS_URL"], **overrides)


def test_production_session_cookie_is_secure_httponly_samesite(app, make_user):
    user = make_user("viewer")
    production = _production(app)
    client = production.test_client()
    base = "https://sms.example.gov.cn"
    token = csrf_token(client, base + "/login")
    response = client.post(base + "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token},
                           headers={"Referer": base + "/login"})  # HTTPS: Flask-WTF checks the referrer too
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    cookie = next(c for c in cookies if c.startswith("__Host-session="))
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Domain=" not in cookie


def test_samesite_none_is_refused(app):
    with pytest.raises(SettingsError) as refused:
        _production(app, SESSION_COOKIE_SAMESITE="None")
    assert "SESSION_COOKIE_SAMESITE" in str(refused.value)
