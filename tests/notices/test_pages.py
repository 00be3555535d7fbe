"""Notice pages: access by role, compose with field errors, the preview JSON, the approval queue
badge, every step through the forms (CSRF included), and the progress JSON."""
import re

import pytest

from notifier.extensions import db
from notifier.notices.models import Notice
from tests.conftest import csrf_token
from tests.notices.conftest import add_deputies


@pytest.fixture
def deputies(app):
    with app.app_context():
        ids = add_deputies(3, levels=("county",))
        add_deputies(1, levels=("county",), start=50, opted_out=True)
        add_deputies(1, levels=("county",), start=60, active=False)
        db.session.remove()
    return ids


def form(**overrides):
    data = {"title": "常委会会议通知", "body": "{name}代表：请于本周五上午九时参加县人大常委会会议。",
            "category": "meeting", "source": "congress", "levels": ["county"], "reply": "confirm", "then": "save"}
    data.update(overrides)
    return data


def compose(client, **overrides):
    data = form(**overrides)
    data["csrf_token"] = csrf_token(client, "/notices/new")
    return client.post("/notices/new", data=data)


def step(client, notice_id, name, **data):
    data["csrf_token"] = csrf_token(client, f"/notices/{notice_id}")
    return client.post(f"/notices/{notice_id}/{name}", data=data)


def status(app, notice_id):
    with app.app_context():
        value = db.session.get(Notice, notice_id).status
        db.session.remove()
        return value


@pytest.mark.parametrize("path", ["/notices/", "/notices/new", "/approvals/"])
def test_login_required(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_roles(client, login, make_user):
    login(make_user("viewer"))
    assert client.get("/notices/").status_code == 200
    assert client.get("/notices/new").status_code == 403
    assert client.get("/approvals/").status_code == 403
    assert client.post("/notices/preview", json={"body": "x"}).status_code in (400, 403)  # no CSRF, no role


def test_compose_errors_then_draft(client, login, make_user, deputies, app):
    login(make_user("composer"))
    page = client.get("/notices/new").get_data(as_text=True)
    assert 'id="compose-form"' in page and "notices.js" in page and "县级" in page  # Chinese by default
    bad = compose(client, body="{nmae}代表", title="")
    assert bad.status_code == 200
    html = bad.get_data(as_text=True)
    assert "{nmae}" in html and "field-error" in html
    ok = compose(client)
    assert ok.status_code == 302
    notice_id = int(ok.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert status(app, notice_id) == "draft"
    data = form()
    assert client.post("/notices/new", data=data).status_code == 400  # no CSRF token at all


def test_preview_json_counts_segments_and_skips(client, login, make_user, deputies):
    login(make_user("composer"))
    token = csrf_token(client, "/notices/new")
    body = "{name}代表：" + "请参加会议" * 20
    response = client.post("/notices/preview", headers={"X-CSRFToken": token},
                           json={"body": body, "reply": "confirm", "audience": {"levels": ["county"]}})
    data = response.get_json()
    assert data["recipients"] == 3 and data["skipped"] == {"opted_out": 1, "inactive": 1}
    assert data["longest"]["encoding"] == "UCS-2" and data["longest"]["segments"] == 2
    assert data["total_segments"] == 6
    assert data["example"]["text"].startswith("【县人大常委会】代表0代表：") and "回复1确认，2请假 #10" in data["example"]["text"]
    bad = client.post("/notices/preview", headers={"X-CSRFToken": token}, json={"body": "{x}"}).get_json()
    assert bad["ok"] is False and "{name}" in bad["errors"]["body"][0]
    long = client.post("/notices/preview", headers={"X-CSRFToken": token}, json={"body": "会" * 700}).get_json()
    assert long["ok"] is False and long["longest"]["segments"] == 11


def test_composer_cannot_approve_own_notice_in_the_ui(client, login, make_user, deputies, app):
    approver = make_user("approver")
    login(approver)  # an approver who composes: still not their own approval
    notice_id = int(compose(client, then="submit").headers["Location"].rsplit("/", 1)[1])
    assert status(app, notice_id) == "pending_approval"
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert 'id="btn-approve"' not in page and 'id="btn-cancel"' in page
    assert step(client, notice_id, "approve").status_code == 403
    assert status(app, notice_id) == "pending_approval"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notices/")})
    login(make_user("composer"))
    assert step(client, notice_id, "approve").status_code == 403
    assert client.get("/approvals/").status_code == 403


def test_an_approver_who_edited_a_notice_in_the_ui_cannot_approve_it(client, login, make_user, deputies, app):
    login(make_user("composer"))
    notice_id = int(compose(client).headers["Location"].rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notices/")})
    login(make_user("approver", display_name="王主任"))
    data = form(body="{name}代表：会议改到本周六上午九时。", then="submit")
    data["csrf_token"] = csrf_token(client, f"/notices/{notice_id}/edit")
    assert client.post(f"/notices/{notice_id}/edit", data=data).status_code == 302
    assert status(app, notice_id) == "pending_approval"
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert 'id="btn-approve"' not in page and 'id="btn-reject"' not in page
    assert step(client, notice_id, "approve").status_code == 403
    assert status(app, notice_id) == "pending_approval"
    edit = next(e for e in client.get(f"/notices/{notice_id}/progress").get_json()["history"]
                if e["action"] == "notice.update")
    assert edit["who"] == "王主任" and edit["reason"] == "短信内容"  # the editor and what they changed


def test_queue_badge_reject_resubmit_approve_cancel(client, login, make_user, deputies, app):
    login(make_user("composer", display_name="李干事"))
    notice_id = int(compose(client, then="submit").headers["Location"].rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notices/")})
    login(make_user("approver"))
    home = client.get("/notices/").get_data(as_text=True)
    assert re.search(r'id="approvals-badge">1<', home)
    queue = client.get("/approvals/").get_data(as_text=True)
    assert f'data-notice-id="{notice_id}"' in queue
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert 'id="btn-approve"' in page and 'id="btn-reject"' in page
    assert 'id="no-messages-yet"' in page and "通知批准后" in page and "排队时间" in page
    assert step(client, notice_id, "reject").status_code == 302  # no reason: refused
    assert status(app, notice_id) == "pending_approval"
    step(client, notice_id, "reject", reason="地点写错了")
    assert status(app, notice_id) == "rejected"
    assert "approvals-badge" not in client.get("/notices/").get_data(as_text=True)
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "地点写错了" in page and 'id="btn-approve"' not in page
    assert step(client, notice_id, "submit").status_code == 302  # approvers may compose too
    assert status(app, notice_id) == "pending_approval"
    step(client, notice_id, "approve")
    assert status(app, notice_id) == "approved"
    progress = client.get(f"/notices/{notice_id}/progress").get_json()
    assert progress["status"] == "approved" and progress["counts"]["total"] == 0 and progress["live"] is True
    assert [e["action"] for e in progress["history"]] == [
        "notice.create", "notice.submit", "notice.reject", "notice.submit", "notice.approve"]
    assert progress["history"][2]["reason"] == "地点写错了" and progress["history"][2]["label"] == "已驳回"
    assert progress["history"][0]["who"] == "李干事"  # people by their display name
    step(client, notice_id, "cancel")
    assert status(app, notice_id) == "cancelled"
    history = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    for action in ("notice.create", "notice.submit", "notice.reject", "notice.approve", "notice.cancel"):
        assert f'data-action="{action}"' in history


def test_list_filters(client, login, make_user, deputies):
    login(make_user("composer"))
    compose(client, title="会议甲", category="meeting")
    compose(client, title="知识乙", category="knowledge", source="court")
    html = client.get("/notices/?category=knowledge").get_data(as_text=True)
    assert "知识乙" in html and "会议甲" not in html
    html = client.get("/notices/?source=court&status=draft").get_data(as_text=True)
    assert "知识乙" in html and "会议甲" not in html
    assert "会议甲" not in client.get("/notices/?from=2000-01-01&until=2000-01-02").get_data(as_text=True)
    assert client.get("/notices/?from=junk&status=junk").status_code == 200


def test_admin_turns_approval_off(client, login, make_user, deputies, app):
    login(make_user("admin"))
    token = csrf_token(client, "/approvals/")
    client.post("/approvals/settings", data={"csrf_token": token, "approval_required": "0"})
    notice_id = int(compose(client, then="submit").headers["Location"].rsplit("/", 1)[1])
    assert status(app, notice_id) == "approved"


def test_a_finished_notice_shows_its_bar_without_waiting_for_a_refresh(client, login, make_user, deputies, app):
    """The page of a completed notice does not poll; its progress bar is drawn by the server."""
    from sqlalchemy import update

    from notifier.delivery.models import Message
    from notifier.delivery.outbox import create_messages
    from notifier.roster.models import Deputy

    login(make_user("composer"))
    notice_id = int(compose(client).headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        rows = create_messages(db.session.scalars(db.select(Deputy).order_by(Deputy.id)).all(), body="通知",
                               notice_id=notice_id)  # three sendable, two skipped (opted out, inactive)
        sendable = [r.id for r in rows if r.status == "pending"]
        db.session.execute(update(Message).where(Message.id.in_(sendable[:2])).values(status="delivered"))
        db.session.execute(update(Message).where(Message.id == sendable[2]).values(status="undelivered"))
        db.session.execute(update(Notice).where(Notice.id == notice_id).values(status="completed"))
        db.session.commit()
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert 'data-live="false"' in page
    assert 'id="bar-delivered" style="width: 40.0%"' in page
    assert 'id="bar-failed" style="width: 20.0%"' in page
    assert 'id="bar-other" style="width: 40.0%"' in page and 'id="bar-sent" style="width: 0.0%"' in page
    progress = client.get(f"/notices/{notice_id}/progress").get_json()
    assert progress["bars"] == {"delivered": 40.0, "sent": 0.0, "failed": 20.0, "other": 40.0}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", progress["as_of"])
