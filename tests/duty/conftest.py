"""Duty-work fixtures: logged-in page clients and API clients per role, the delivery fixtures
(simulator, live server, real workers), the reply helpers, and a small roster in groups."""
import pytest

from tests.api.conftest import ApiClient
from tests.conftest import PASSWORD, csrf_token, import_dir_fixture
from tests.delivery.conftest import dctx, delivery_app, live_url, sim, sim_process, workers  # noqa: F401
from tests.notices.conftest import add_deputies, notice_data, user  # noqa: F401
from tests.replies.conftest import new_sid, send_notice, signed_app, signed_post, staff, text_in  # noqa: F401

_import_dir = import_dir_fixture("package")


@pytest.fixture
def make_user(make_quick_user):
    return make_quick_user


@pytest.fixture
def as_role(app, make_user):
    """as_role("viewer") -> (a client of its own logged in as a new user of that role, the user)."""

    def make(role, **kwargs):
        staff_user = make_user(role, **kwargs)
        client = app.test_client()
        token = csrf_token(client)
        response = client.post("/login", data={"username": staff_user.username, "password": PASSWORD,
                                                "csrf_token": token})
        assert response.status_code == 302
        return client, staff_user

    return make


@pytest.fixture
def api_as(client, make_user, token_for):
    def make(role="admin"):
        return ApiClient(client, token_for(make_user(role)))

    return make


def group_roster():
    """Four deputies: two in 城关代表小组 (one also at 城关联络站), one in 东山代表团, one in none;
    through the roster service, as the form and the importer do. Returns {name: id}."""
    from notifier.roster.service import create_deputy

    people = [("张三", "13800138000", ["城关代表小组"], ["城关联络站"]),
              ("李四", "13800138001", ["城关代表小组"], []),
              ("王五", "13800138002", ["东山代表团"], []),
              ("赵六", "13800138003", [], [])]
    return {name: create_deputy({"name": name, "phone": phone, "levels": ["county"], "groups": groups,
                                 "stations": stations}, actor="system").id
            for name, phone, groups, stations in people}
