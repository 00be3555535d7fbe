"""GET /api/v1/replies (filters, keyset pages, roles) and POST /api/v1/notices/<id>/remind."""
from datetime import timedelta

from notifier.timeutil import utcnow
from tests.notices.conftest import add_deputies
from tests.replies.conftest import send_notice
from tests.replies.test_threading_and_effects import phone, reply


def test_list_filters_and_pages(ctx, staff, client, token_for):
    add_deputies(4)
    first = send_notice(staff, title="一")
    second = send_notice(staff, title="二")
    reply(phone(0), f"1 #{first.reply_code}")
    reply(phone(1), "2")
    reply(phone(2), "退订")
    reply("+8613512345678", "陌生人")
    headers = token_for(staff["viewer"])
    everything = client.get("/api/v1/replies", headers=headers)
    assert everything.status_code == 200
    items = everything.json["items"]
    assert [i["kind"] for i in items] == ["confirm", "decline", "opt_out", "text"]
    assert items[0]["notice_id"] == first.id and items[1]["notice_id"] == second.id
    assert items[0]["deputy_name"] == "代表0" and items[3]["deputy_id"] is None
    assert [i["body"] for i in client.get(f"/api/v1/replies?notice_id={first.id}", headers=headers).json["items"]] \
        == [f"1 #{first.reply_code}"]
    assert len(client.get("/api/v1/replies?kind=decline", headers=headers).json["items"]) == 1
    assert len(client.get(f"/api/v1/replies?deputy_id={items[2]['deputy_id']}", headers=headers).json["items"]) == 1
    assert [i["body"] for i in client.get("/api/v1/replies?unmatched=true", headers=headers).json["items"]] == ["陌生人"]
    since = (utcnow() + timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/replies", query_string={"since": since}, headers=headers).json["items"] == []
    page = client.get("/api/v1/replies?limit=3", headers=headers).json
    rest = client.get(f"/api/v1/replies?limit=3&cursor={page['next_cursor']}", headers=headers).json
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in items] and rest["next_cursor"] is None
    detail = client.get(f"/api/v1/notices/{second.id}", headers=headers).json
    assert {k: detail["replies"][k] for k in ("confirmed", "declined", "other", "none")} == {
        "confirmed": 0, "declined": 1, "other": 0, "none": 2}  # 0 answered the first; 2 opted out


def test_list_errors_and_auth(ctx, client, staff, token_for):
    headers = token_for(staff["viewer"])
    assert client.get("/api/v1/replies").status_code == 401
    for bad in ("kind=maybe", "notice_id=0", "since=yesterday", "since=2026-01-01T00:00:00", "cursor=%%%",
                "limit=0"):
        response = client.get(f"/api/v1/replies?{bad}", headers=headers)
        assert response.status_code == 422, (bad, response.json)
        assert "errors" in response.json


def test_remind_endpoint(ctx, staff, client, token_for):
    add_deputies(3)
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(days=1))
    reply(phone(0), "1")
    assert client.post(f"/api/v1/notices/{notice.id}/remind", headers=token_for(staff["viewer"])).status_code == 403
    assert client.post("/api/v1/notices/99999/remind", headers=token_for(staff["composer"])).status_code == 404
    made = client.post(f"/api/v1/notices/{notice.id}/remind", headers=token_for(staff["composer"]))
    assert made.status_code == 201, made.json
    # A reminder repeats approved text: it goes on the composer's word (issue 16).
    assert made.json["status"] == "approved" and len(made.json["audience"]["deputy_ids"]) == 2
    reply(phone(1), "1")
    reply(phone(2), "2")
    again = client.post(f"/api/v1/notices/{notice.id}/remind", headers=token_for(staff["composer"]))
    assert again.status_code == 409 and again.json["errors"]
