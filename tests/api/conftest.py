"""API test helpers: a client that sends a role's bearer token, and the rows in the database."""
import csv
import io

import openpyxl
import pytest

from notifier.extensions import db

ROLES = ("viewer", "composer", "approver", "admin")


class ApiClient:
    """The Flask test client with `Authorization: Bearer ...` on every request."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def _call(self, method, path, headers=None, **kwargs):
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, path, **kwargs):
        return self._call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._call("PATCH", path, **kwargs)


@pytest.fixture
def make_user(make_quick_user):
    """These tests make many users: the quick ones (a cheap hash, no audit event)."""
    return make_quick_user


@pytest.fixture
def api_as(client, make_user, token_for):
    """api_as("composer") -> ApiClient authenticated as a new user with that role."""

    def make(role="admin", **kwargs):
        user = make_user(role, **kwargs)
        return ApiClient(client, token_for(user))

    return make


@pytest.fixture
def api(api_as):
    return api_as("admin")


def count(app, model):
    with app.app_context():
        n = db.session.scalar(db.select(db.func.count()).select_from(model))
        db.session.remove()
        return n


def audit_actions(app, views=False):
    """The audit trail's (action, actor, detail), oldest first; without `views`, leaving out the
    rows that say someone saw full numbers (every answer that shows a deputy writes one)."""
    from notifier.audit.models import AuditEvent

    with app.app_context():
        query = db.select(AuditEvent).order_by(AuditEvent.id)
        if not views:
            query = query.where(AuditEvent.action != "personal.view_numbers")
        rows = db.session.scalars(query).all()
        result = [(row.action, row.actor, row.detail) for row in rows]
        db.session.remove()
        return result


def csv_file(rows):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_file(rows):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def assert_error(response, status, where=None, field=None):
    """The response is `status` with the documented error shape; returns the messages found."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"message", "errors"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict) and body["errors"]
    if where is None:
        return body["errors"]
    assert where in body["errors"], body
    found = body["errors"][where]
    if field is None:
        return found
    assert field in found, body
    messages = found[field]
    assert messages and all(isinstance(m, str) and m for m in _flatten(messages)), body
    return messages


def _flatten(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flatten(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _flatten(value)
    else:
        yield messages
