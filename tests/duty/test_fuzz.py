"""Random bodies against the duty-work API's POST and PATCH: whatever a client sends, the answer
is a success or a 4xx in the documented error shape, never a 5xx."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.extensions import db
from notifier.roster.service import create_deputy
from tests.api.conftest import assert_error
from tests.api.test_fuzz import FUZZ, raw, values
from tests.duty.conftest import send_notice

plausible = st.fixed_dictionaries({}, optional={
    "deputy_id": st.integers(min_value=-5, max_value=2**40) | values,
    "status": st.sampled_from(["attended", "leave", "absent", "received", "answered", "", "签到"]) | values,
    "text": st.text(max_size=80) | values,
    "organ": st.text(max_size=120) | values,
    "due_date": st.sampled_from(["2020-01-01", "2099-12-31", "2026-02-30", "soon", ""]) | st.dates().map(str) | values,
})
bodies = st.one_of(raw, plausible.map(lambda body: (json.dumps(body), "application/json")))


@pytest.fixture
def targets(app, api_as, staff):
    with app.app_context():
        deputy_id = create_deputy({"name": "甲代表", "phone": "+8613700000001", "levels": ["county"]},
                                  actor="system").id
        notice_id = send_notice(staff, category="meeting").id
        db.session.remove()
    api = api_as("composer")
    suggestion_id = api.post("/api/v1/suggestions", json={"deputy_id": deputy_id, "text": "修路"}).get_json()["id"]
    return api, [f"/api/v1/notices/{notice_id}/attendance", "/api/v1/suggestions",
                 f"/api/v1/suggestions/{suggestion_id}/assign", f"/api/v1/suggestions/{suggestion_id}/answer"], \
        f"/api/v1/suggestions/{suggestion_id}"


def _check(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert_error(response, response.status_code)


@settings(FUZZ, max_examples=120)
@given(body=bodies, which=st.integers(min_value=0, max_value=4))
def test_duty_posts_and_patch_never_fail_with_5xx(targets, body, which):
    api, posts, item = targets
    data, content_type = body
    headers = {"Content-Type": content_type} if content_type else {}
    if which == 4:
        _check(api.patch(item, data=data, headers=headers))
    else:
        _check(api.post(posts[which], data=data, headers=headers))
