"""Fixtures for the admin pages: clients logged in per role, deputies, and a folder for uploads."""
import pytest

from notifier.extensions import db as _db
from tests.conftest import csrf_token, import_dir_fixture

_import_dir = import_dir_fixture("package")


@pytest.fixture
def as_role(app, make_user, login):
    """as_role("viewer") -> (client logged in as a new user of that role, the user)."""

    def make(role, **kwargs):
        user = make_user(role, **kwargs)
        return login(user), user

    return make


@pytest.fixture
def add_deputy(app):
    """add_deputy(name, phone, levels=..., tags=..., ...) -> deputy id, through the roster service."""
    from notifier.roster.service import create_deputy

    def add(name, phone, **fields):
        with app.app_context():
            deputy = create_deputy({"name": name, "phone": phone, **fields}, actor="system")
            return deputy.id

    return add


def form_post(client, path, data, token_path=None):
    """POST a form with a CSRF token taken from the page at `token_path` (default: `path`)."""
    token = csrf_token(client, token_path or path)
    return client.post(path, data={**data, "csrf_token": token})


def audit_actions(app):
    from notifier.audit.models import AuditEvent

    with app.app_context():
        rows = _db.session.execute(_db.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        return [(row.action, row.actor, row.detail) for row in rows]
