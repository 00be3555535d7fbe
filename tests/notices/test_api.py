"""API v1 notices: create, read, list, every step with its permissions, 409s and 422s."""
import pytest

from notifier.extensions import db
from tests.notices.conftest import add_deputies, notice_data


@pytest.fixture
def deputies(app):
    with app.app_context():
        ids = add_deputies(4, levels=("county",))
        add_deputies(1, levels=("county",), start=50, opted_out=True)
        db.session.remove()
    return ids


@pytest.fixture
def api(client, make_user, token_for, deputies):
    people = {role: make_user(role) for role in ("composer", "approver", "viewer", "admin")}
    headers = {role: token_for(u) for role, u in people.items()}

    def call(method, path, role="composer", **kwargs):
        return client.open(f"/api/v1/notices{path}", method=method,
                           headers={**headers[role], "Accept-Language": "en"}, **kwargs)

    call.people = people
    return call


def create(api, **overrides):
    response = api("POST", "", json=notice_data(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def test_create_read_list(api):
    notice = create(api)
    assert notice["status"] == "draft" and notice["reply"] == "confirm"
    assert notice["audience"] == {"levels": ["county"], "tags": [], "deputy_ids": []}
    assert notice["created_by"]["username"] == api.people["composer"].username
    got = api("GET", f"/{notice['id']}", role="viewer").json
    assert got["counts"]["total"] == 0 and got["replies"] == {"confirmed": 0, "declined": 0, "received": 0, "other": 0,
                                                                 "none": 0}
    listed = api("GET", "?status=draft", role="viewer").json
    assert [n["id"] for n in listed["items"]] == [notice["id"]] and listed["next_cursor"] is None
    assert api("GET", "?status=sending").json["items"] == []
    assert api("GET", "?status=nope").status_code == 422


def test_field_errors_are_422(api):
    response = api("POST", "", json=notice_data(body="{nmae}", category="gossip", audience={"levels": ["moon"]}))
    assert response.status_code == 422
    errors = response.json["errors"]["json"]
    assert set(errors) == {"body", "category", "audience"}
    assert "{name}" in errors["body"][0]
    response = api("POST", "", json={"title": "x", "urgent": "yes", "audience": {}})
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"body", "urgent"}
    assert api("POST", "", data="x", content_type="text/plain").status_code == 415


def test_roles_and_the_whole_path_with_409s(api):
    assert api("POST", "", role="viewer", json=notice_data()).status_code == 403
    notice = create(api)
    nid = notice["id"]
    assert api("POST", f"/{nid}/approve", role="approver").status_code == 409  # still a draft
    assert api("POST", f"/{nid}/submit", role="viewer").status_code == 403
    submitted = api("POST", f"/{nid}/submit")
    assert submitted.status_code == 200 and submitted.json["status"] == "pending_approval"
    assert submitted.json["reply_code"] == "10"
    again = api("POST", f"/{nid}/submit")
    assert again.status_code == 409 and "draft" in again.json["message"]
    assert api("POST", f"/{nid}/approve").status_code == 403  # composers never approve
    assert api("PATCH", f"/{nid}", json={"title": "改"}).status_code == 409
    assert api("POST", f"/{nid}/reject", role="approver", json={}).status_code == 422
    rejected = api("POST", f"/{nid}/reject", role="approver", json={"reason": "请补充地点"})
    assert rejected.json["status"] == "rejected" and rejected.json["rejection_reason"] == "请补充地点"
    patched = api("PATCH", f"/{nid}", json={"body": "请于周五九时到县人大三楼会议室开会。"})
    assert patched.status_code == 200 and patched.json["status"] == "draft"
    api("POST", f"/{nid}/submit")
    approved = api("POST", f"/{nid}/approve", role="approver")
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    assert approved.json["approved_by"]["username"] == api.people["approver"].username
    cancelled = api("POST", f"/{nid}/cancel")
    assert cancelled.json["status"] == "cancelled"
    late = api("POST", f"/{nid}/cancel")
    assert late.status_code == 409 and late.json["errors"]["_request"] == [late.json["message"]]


def test_approver_cannot_approve_own_notice_through_the_api(api):
    response = api("POST", "", role="approver", json=notice_data())
    nid = response.json["id"]
    api("POST", f"/{nid}/submit", role="approver")
    own = api("POST", f"/{nid}/approve", role="approver")
    assert own.status_code == 403 and "another approver" in own.json["message"]
    assert api("POST", f"/{nid}/approve", role="admin").json["status"] == "approved"


def test_an_approver_who_patched_a_notice_cannot_approve_it_through_the_api(api, make_user, token_for, client):
    nid = create(api)["id"]
    patched = api("PATCH", f"/{nid}", role="approver", json={"body": "请于周六九时到县人大三楼会议室开会。"})
    assert patched.status_code == 200
    assert patched.json["last_edited_by"]["username"] == api.people["approver"].username
    assert api("POST", f"/{nid}/submit", role="approver").status_code == 200
    refused = api("POST", f"/{nid}/approve", role="approver")
    assert refused.status_code == 403 and "last change" in refused.json["message"]
    assert api("GET", f"/{nid}").json["status"] == "pending_approval"
    other = client.post(f"/api/v1/notices/{nid}/approve", headers=token_for(make_user("approver")))
    assert other.status_code == 200 and other.json["status"] == "approved"


def test_messages_list_and_counts_after_dispatch(api, app):
    from notifier.notices.dispatch import dispatch_notice

    nid = create(api)["id"]
    api("POST", f"/{nid}/submit")
    api("POST", f"/{nid}/approve", role="approver")
    with app.app_context():
        dispatch_notice(nid)
        db.session.remove()
    got = api("GET", f"/{nid}").json
    assert got["status"] == "sending" and got["counts"]["queued"] == 4 and got["counts"]["skipped"] == 1
    page = api("GET", f"/{nid}/messages?limit=3").json
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = api("GET", f"/{nid}/messages?limit=3&cursor={page['next_cursor']}").json
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    skipped = api("GET", f"/{nid}/messages?status=skipped").json["items"]
    assert [m["error_message"] for m in skipped] == ["opted out"]
    assert skipped[0]["body"].startswith("【县人大常委会】代表50代表：")


def test_not_found_and_auth(api, client):
    assert api("GET", "/999").status_code == 404
    assert api("POST", "/999/approve", role="approver").status_code == 404
    assert client.get("/api/v1/notices").status_code == 401


def test_openapi_documents_the_notice_paths(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/notices", "/api/v1/notices/{notice_id}", "/api/v1/notices/{notice_id}/approve",
                 "/api/v1/notices/{notice_id}/messages"):
        assert path in paths
    assert "409" in paths["/api/v1/notices/{notice_id}/approve"]["post"]["responses"]
