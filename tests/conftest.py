"""Shared fixtures. Tests talk to the real PostgreSQL and Redis (see README, "Tests").

TEST_DATABASE_URL (default: the local `test` database) and TEST_REDIS_URL (default: db 15 of
the local Redis) choose where; the schema is built once per run by the Alembic migrations, so
every run also exercises them, and each test starts from empty tables.
"""
import os
import re
import time

import pytest

# Anything that builds the app from the environment (workers, the CLI) gets the test settings.
os.environ.setdefault("NOTIFIER_ENV", "testing")

import redis as redis_lib  # noqa: E402
from sqlalchemy import text  # noqa: E402

from notifier import create_app  # noqa: E402
from notifier.extensions import db as _db  # noqa: E402

PASSWORD = "correct-horse-42"
# Tables filled by migrations and kept between tests.
SEEDED_TABLES = {"levels", "alembic_version"}


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    # Webhooks the database could not take are spooled here, not in the instance folder.
    app = create_app("testing", WEBHOOK_SPOOL_DIR=str(tmp_path_factory.mktemp("webhook-spool")))
    with app.app_context():
        _reset_schema()
        from flask_migrate import upgrade

        upgrade()
    yield app


def _reset_schema():
    engine = _db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            _db.drop_all()
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(autouse=True)
def _clean(request):
    """Empty every table and the test Redis db after each test that touched the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        _db.session.remove()
        tables = [t.name for t in _db.metadata.sorted_tables if t.name not in SEEDED_TABLES]
        with _db.engine.begin() as conn:
            if _db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(text(f"DELETE FROM {table}"))
        redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()


@pytest.fixture
def ctx(app):
    """An application context for tests that call domain functions directly."""
    with app.app_context():
        yield
        _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


def _user_factory(create):
    """make(role="admin", username=None, **fields) -> create(username, role, **fields), numbering usernames."""
    counter = iter(range(1, 10_000))

    def make(role="admin", username=None, **fields):
        return create(username or f"{role}{next(counter)}", role, **fields)

    return make


@pytest.fixture
def make_user(app):
    """make_user("composer") -> a User with password PASSWORD, made by the accounts service (audited)."""
    from notifier.accounts.service import create_user

    def create(username, role, **fields):
        with app.app_context():
            user, _ = create_user(username, role, password=PASSWORD, **fields)
            _db.session.refresh(user)  # load the committed row before detaching it
            _db.session.expunge(user)
            return user

    return _user_factory(create)


@pytest.fixture
def make_quick_user(app):
    """As make_user, but written directly (no audit event) with a cheap password hash: for tests
    that make many users."""
    return _user_factory(lambda username, role, **fields: add_user(app, username, role, **fields))


def add_user(app, username, role, **fields):
    """A User with password PASSWORD under a cheap hash, committed and loaded before it leaves the
    session (a detached expired user cannot be read)."""
    from werkzeug.security import generate_password_hash

    from notifier.accounts.models import User

    with app.app_context():
        user = User(username=username, role=role, **fields)
        user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        _db.session.add(user)
        _db.session.commit()
        _db.session.refresh(user)
        _db.session.expunge(user)
        return user


def wait_until(predicate, timeout, what="condition", interval=0.5):
    """Poll predicate() every `interval` seconds; return its first truthy value, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def import_dir_fixture(scope):
    """An autouse fixture of `scope`: roster uploads waiting for confirmation go to a temporary
    folder, not the instance folder."""

    @pytest.fixture(scope=scope, autouse=True)
    def import_dir(app, tmp_path_factory):
        before = app.config.get("ROSTER_IMPORT_DIR")
        app.config["ROSTER_IMPORT_DIR"] = str(tmp_path_factory.mktemp("imports"))
        yield
        app.config["ROSTER_IMPORT_DIR"] = before

    return import_dir


def csrf_token(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def login(client, app):
    """login(user) logs the test client in through the real form (CSRF included), and through
    the second step (enrolling first) where the user's role needs one."""

    def do(user, password=PASSWORD):
        token = csrf_token(client)
        response = client.post("/login", data={"username": user.username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if response.headers["Location"].startswith("/two-factor"):
            pass_second_step(client, app, user.username)
        return client

    return do


def finish_login(client, app, response, username):
    """After a POST to /login: the second step too when the user needs one; the last response."""
    if response.status_code == 302 and response.headers["Location"].startswith("/two-factor"):
        return pass_second_step(client, app, username)
    return response


def pass_second_step(client, app, username):
    """Answer the second step as the user's authenticator app would (enrolling when needed)."""
    token = csrf_token(client, "/two-factor")  # the enrolment page makes the secret
    response = client.post("/two-factor", data={"code": totp_code(app, username), "csrf_token": token})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    assert "is-invalid" not in response.get_data(as_text=True), response.get_data(as_text=True)[:2000]
    return response


def totp_code(app, username):
    """The code the user's authenticator app shows now, computed from the stored secret; one not
    used yet (a second login within the same 30 s takes the next step's code, or waits for it)."""
    import pyotp

    from notifier.accounts.models import User

    while True:
        with app.app_context():
            user = _db.session.execute(_db.select(User).where(User.username == username)).scalar_one()
            secret, last = user.totp_secret, user.totp_last_step
            _db.session.remove()
        assert secret, f"{username} has no TOTP secret"
        totp = pyotp.TOTP(secret)
        now = int(time.time())
        current = now // totp.interval
        for step in (current, current + 1):
            if last is None or step > last:
                return totp.generate_otp(step)
        time.sleep(totp.interval - now % totp.interval + 0.1)


@pytest.fixture
def token_for(app):
    """token_for(user) -> headers with a fresh API bearer token."""
    from notifier.accounts.models import User
    from notifier.accounts.service import issue_token

    def make(user):
        with app.app_context():
            _, plaintext = issue_token(_db.session.get(User, user.id), name="test")
            return {"Authorization": f"Bearer {plaintext}"}

    return make


def reference_file(name):
    """Path to a public spec in ../shared/reference, or skip (fail in CI) when it is absent."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(here, "..", "shared", "reference", name)
    if not os.path.exists(path):
        if os.environ.get("NOTIFIER_REQUIRE_REFERENCE"):
            pytest.fail(f"../shared/reference/{name} is missing (NOTIFIER_REQUIRE_REFERENCE is set)")
        pytest.skip(f"../shared/reference/{name} is not beside the project")
    return path
