"""API v1: the message log, one message's history, notice exports, the audit trail; and no route,
page or API, can change an audit event."""
import csv
import io

import pytest
from openpyxl import load_workbook

from notifier.audit.models import AuditEvent
from notifier.delivery.models import GatewayExchange
from notifier.extensions import db
from tests.conftest import csrf_token


def test_message_log_filters_and_cursor(client, seed, make_user, token_for):
    headers = token_for(make_user("viewer"))
    m = seed["messages"]
    body = client.get("/api/v1/messages?level=county&limit=3", headers=headers).get_json()
    seen = [i["id"] for i in body["items"]]
    while body["next_cursor"]:
        body = client.get(f"/api/v1/messages?level=county&limit=3&cursor={body['next_cursor']}", headers=headers).get_json()
        seen += [i["id"] for i in body["items"]]
    assert seen == [m[7], m[6], m[5], m[4], m[3], m[2], m[0]]
    item = client.get("/api/v1/messages?q=李四", headers=headers).get_json()["items"][0]
    assert item["name"] == "李四" and item["levels"] == ["provincial"] and item["status"] == "delivered"
    assert [i["id"] for i in client.get("/api/v1/messages?error_code=21211", headers=headers).get_json()["items"]] == [m[6]]
    bad = client.get("/api/v1/messages?status=lost&since=soon", headers=headers)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]["query"]
    bad = client.get("/api/v1/messages?since=soon", headers=headers)
    assert bad.status_code == 422 and "since" in bad.get_json()["errors"]["query"]
    assert client.get("/api/v1/messages?cursor=garbage", headers=headers).status_code == 422
    assert client.get("/api/v1/messages").status_code == 401


def test_message_item_exchanges_for_admins_only(client, seed, app, make_user, token_for):
    m = seed["messages"]
    with app.app_context():
        db.session.add(GatewayExchange(message_id=m[0], method="POST", url="https://api.twilio.com/M.json",
                                       request={"data": {"To": "+8613800138000"}}, response_status=201,
                                       response_body='{"sid": "SM1"}'))
        db.session.commit()
    viewer = client.get(f"/api/v1/messages/{m[0]}", headers=token_for(make_user("viewer"))).get_json()
    assert [e["status"] for e in viewer["events"]] == ["queued", "delivered"] and "exchanges" not in viewer
    admin = client.get(f"/api/v1/messages/{m[0]}", headers=token_for(make_user("admin"))).get_json()
    assert admin["exchanges"][0]["response_status"] == 201
    assert client.get("/api/v1/messages/99999", headers=token_for(make_user("viewer"))).status_code == 404


def test_notice_export_csv_and_xlsx_are_audited(client, seed, app, make_user, token_for):
    headers = token_for(make_user("viewer"))
    response = client.get(f"/api/v1/notices/{seed['notices'][0]}/export?format=csv", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 6 and {r[3] for r in rows[1:]} == {"张三", "李四", "王五", "赵六", "张小明"}
    response = client.get(f"/api/v1/notices/{seed['notices'][0]}/export?format=xlsx", headers=headers)
    assert load_workbook(io.BytesIO(response.data)).active.max_row == 6
    assert client.get(f"/api/v1/notices/{seed['notices'][0]}/export?format=doc", headers=headers).status_code == 422
    assert client.get("/api/v1/notices/9999/export", headers=headers).status_code == 404
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "export.notice")).all()
        assert [e.detail["format"] for e in events] == ["csv", "xlsx"] and events[0].detail["via"] == "api"


def test_audit_events_api_for_the_audit_administrator_only_with_filters(client, ctx, make_user, token_for):
    from notifier.audit.service import record

    admin = make_user("auditor", username="boss")
    for action in ("notice.create", "notice.approve", "roster.import"):
        record(action, actor="boss", n=1)
    record("notice.create", actor="clerk")
    db.session.commit()
    headers = token_for(admin)
    for role in ("approver", "admin", "security_admin"):  # 三员分立: not even the system administrator
        assert client.get("/api/v1/audit-events", headers=token_for(make_user(role))).status_code == 403
    items = client.get("/api/v1/audit-events?actor=boss&action=notice.*", headers=headers).get_json()["items"]
    assert [i["action"] for i in items] == ["notice.approve", "notice.create"]
    items = client.get("/api/v1/audit-events?action=notice.create", headers=headers).get_json()["items"]
    assert {i["actor"] for i in items} == {"boss", "clerk"}
    assert client.get("/api/v1/audit-events?since=2000-01-01&until=2001-01-01", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/audit-events?since=later", headers=headers).status_code == 422


def _snapshot(app):
    with app.app_context():
        return {e.id: (e.at, e.actor, e.action, e.target_type, e.target_id, e.detail, e.ip)
                for e in db.session.scalars(db.select(AuditEvent))}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_no_route_alters_the_audit_trail(app, client, ctx, make_user, login, token_for, method):
    from notifier.audit.service import record

    admin = make_user("auditor")  # the one who may read it
    for i in range(3):
        record("notice.create", actor="someone", n=i)
    db.session.commit()
    first_id = db.session.scalar(db.select(db.func.min(AuditEvent.id)))
    headers = token_for(admin)
    login(admin)
    token = csrf_token(client, "/audit/")
    before = _snapshot(app)
    urls = sorted({rule.rule.replace("//", "/") for rule in app.url_map.iter_rules() if "audit" in rule.rule})
    assert "/audit/" in urls and "/api/v1/audit-events" in urls
    tried = 0
    for rule in urls:
        for url in {rule.replace("<int:id>", str(first_id)).replace("<id>", str(first_id)),
                    f"{rule}?id={first_id}", f"{rule}/{first_id}"}:
            data = {"csrf_token": token, "id": str(first_id), "rowid": str(first_id), "action": "delete",
                    "list_form_pk": str(first_id), "actor": "forged", "detail": "{}"}
            response = client.open(url, method=method, data=data, headers=headers)
            tried += 1
            assert response.status_code < 500, (method, url, response.status_code)
            json_response = client.open(url, method=method, json={"actor": "forged"}, headers=headers)
            assert json_response.status_code < 500, (method, url)
    after = _snapshot(app)
    # New events may be added (the API audits nothing here, the pages log nothing), none changed or removed.
    assert {k: after[k] for k in before} == before
    assert tried >= 6
