"""Suggestions (代表建议): two by text through the real workers and the Twilio simulator, numbered and
confirmed by text; one assigned, answered and rated by text; a paper one; overdue; every step
audited; roles and bad input answered with field errors."""
from datetime import date, timedelta

import requests
from flask_babel import force_locale
from sqlalchemy import select

from notifier.audit.models import AuditEvent
from notifier.duty import suggestions
from notifier.duty.models import Suggestion
from notifier.extensions import db
from notifier.replies.models import InboundMessage
from notifier.replies.service import receive
from notifier.roster.service import create_deputy
from tests.conftest import csrf_token, wait_until
from tests.duty.conftest import new_sid, send_notice, user

PLATFORM = "+15005550006"
PHONE = "+8613700000001"


def _deputy(name="甲代表", phone=PHONE):
    return create_deputy({"name": name, "phone": phone, "levels": ["county"]}, actor="system")


def test_by_text_numbered_confirmed_assigned_answered_rated(dctx, workers, sim_process, live_url, api_as):
    deputy_id = _deputy().id
    year = suggestions.local_today().year
    sim_process.configure(inbound_url=f"{live_url}/webhooks/twilio/inbound")
    workers.start()

    def text(body):
        response = requests.post(f"{sim_process.url}/_sim/inbound", timeout=10,
                                 json={"from": PHONE, "to": PLATFORM, "body": body})
        assert response.status_code == 201

    def sent_to_deputy():
        return [m["body"] for m in sim_process.accepted if m["to"] == PHONE and m["status"] == "delivered"]

    text("建议修缮城关小学校舍，雨季漏水严重。")
    wait_until(lambda: len(sent_to_deputy()) == 1, 60, "the first confirmation")
    text("JY 在东山村增设公交站")
    wait_until(lambda: len(sent_to_deputy()) == 2, 60, "the second confirmation")
    first, second = f"{year}-001", f"{year}-002"
    confirmations = sent_to_deputy()
    assert first in confirmations[0] and second in confirmations[1] and "已登记" in confirmations[0]
    db.session.commit()
    rows = db.session.scalars(select(Suggestion).order_by(Suggestion.id)).all()
    assert [(s.number, s.text, s.source, s.deputy_id) for s in rows] == [
        (first, "修缮城关小学校舍，雨季漏水严重。", "sms", deputy_id), (second, "在东山村增设公交站", "sms", deputy_id)]
    inbound = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(r.kind, r.reason, r.reason_word) for r in inbound] == [
        ("suggestion", "suggestion", first), ("suggestion", "suggestion", second)]

    composer = api_as("composer")
    assigned = composer.post(f"/api/v1/suggestions/{rows[0].id}/assign", json={"organ": "县教育局"})
    assert assigned.status_code == 200, assigned.get_json()
    due = date.fromisoformat(assigned.get_json()["due_date"])
    assert assigned.get_json()["status"] == "assigned" and 89 <= (due - suggestions.local_today()).days <= 92
    answered = composer.post(f"/api/v1/suggestions/{rows[0].id}/answer",
                             json={"text": "已列入明年校舍维修计划，汛期前完成屋面防水。"})
    assert answered.status_code == 200 and answered.get_json()["status"] == "answered"
    wait_until(lambda: len(sent_to_deputy()) == 3, 60, "the 'answered' text")
    told = sent_to_deputy()[2]
    assert first in told and "县教育局" in told and "1满意" in told and "3不满意" in told
    text("1")
    def rated():
        db.session.commit()
        return db.session.get(Suggestion, rows[0].id).satisfaction
    assert wait_until(rated, 60, "the rating") == "satisfied"
    rating = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert (rating.kind, rating.reason_word, rating.notice_id) == ("rating", first, None)
    listing = api_as("viewer").get(f"/api/v1/suggestions?deputy_id={deputy_id}").get_json()["items"]
    assert [(s["number"], s["status"], s["satisfaction"]) for s in listing] == [
        (first, "answered", "satisfied"), (second, "received", None)]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("suggestion.%")).order_by(AuditEvent.id))]
    assert actions == ["suggestion.create", "suggestion.create", "suggestion.assign", "suggestion.answer",
                       "suggestion.rate"]


def test_a_bare_1_answers_whichever_the_deputy_was_asked_last(ctx, staff):
    deputy = _deputy()
    composer = user(staff["composer"])
    suggestion, _ = suggestions.create(deputy, "修路", composer, source="paper")
    db.session.commit()
    suggestions.assign(suggestion, "县交通运输局", None, composer)
    suggestions.answer(suggestion, "已安排。", composer)
    # A meeting invitation reaches the deputy after the 'answered' text: "1" answers the invitation...
    notice = send_notice(staff, category="meeting")
    row, _ = receive({"MessageSid": new_sid(), "From": PHONE, "To": PLATFORM, "Body": "1"})
    assert (row.kind, row.notice_id) == ("confirm", notice.id)
    # ... while "3" (or 满意) can only be a rating.
    row, _ = receive({"MessageSid": new_sid(), "From": PHONE, "To": PLATFORM, "Body": "3"})
    assert (row.kind, row.reason_word) == ("rating", suggestion.number)
    assert db.session.get(Suggestion, suggestion.id).satisfaction == "dissatisfied"
    with force_locale("en"):
        assert suggestion.number in row.reason_label


def test_empty_or_unknown_sender_records_nothing(ctx):
    _deputy()
    row, _ = receive({"MessageSid": new_sid(), "From": PHONE, "To": PLATFORM, "Body": "建议"})
    assert (row.kind, row.reason) == ("suggestion", "suggestion_empty")
    stranger, _ = receive({"MessageSid": new_sid(), "From": "+8613999999999", "To": PLATFORM, "Body": "建议修桥"})
    assert stranger.reason == "suggestion_unknown"
    assert db.session.scalar(select(db.func.count()).select_from(Suggestion)) == 0


def test_overdue_and_paper_entry(ctx, staff):
    deputy = _deputy()
    composer = user(staff["composer"])
    paper = suggestions.create_for_deputy(deputy.id, "纸质建议：加强农村饮水安全", composer)
    assert paper.source == "paper" and paper.number.endswith("-001")
    suggestions.assign(paper, "县水利局", suggestions.local_today() + timedelta(days=1), composer)
    assert not suggestions.is_overdue(paper)
    assert suggestions.is_overdue(paper, today=suggestions.local_today() + timedelta(days=2))
    assert suggestions.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_api_errors_and_roles(app, api_as):
    with app.app_context():
        deputy_id = _deputy().id
    composer, viewer = api_as("composer"), api_as("viewer")
    assert viewer.post("/api/v1/suggestions", json={"deputy_id": deputy_id, "text": "x"}).status_code == 403
    unknown = composer.post("/api/v1/suggestions", json={"deputy_id": 99999, "text": "修路"})
    assert unknown.status_code == 422 and "deputy_id" in unknown.get_json()["errors"]["json"]
    empty = composer.post("/api/v1/suggestions", json={"deputy_id": deputy_id, "text": ""})
    assert empty.status_code == 422 and "text" in empty.get_json()["errors"]["json"]
    created = composer.post("/api/v1/suggestions", json={"deputy_id": deputy_id, "text": "修路"})
    assert created.status_code == 201
    sid = created.get_json()["id"]
    assert composer.post(f"/api/v1/suggestions/{sid}/answer", json={"text": "好"}).status_code == 409  # not assigned
    past = composer.post(f"/api/v1/suggestions/{sid}/assign", json={"organ": "县交通运输局", "due_date": "2020-01-01"})
    assert past.status_code == 422 and "due_date" in past.get_json()["errors"]["json"]
    bad_date = composer.post(f"/api/v1/suggestions/{sid}/assign", json={"organ": "县交通运输局", "due_date": "soon"})
    assert bad_date.status_code == 422 and "due_date" in bad_date.get_json()["errors"]["json"]
    no_organ = composer.post(f"/api/v1/suggestions/{sid}/assign", json={"organ": ""})
    assert no_organ.status_code == 422 and "organ" in no_organ.get_json()["errors"]["json"]
    bad_status = composer.get("/api/v1/suggestions?status=lost")
    assert bad_status.status_code == 422 and "status" in bad_status.get_json()["errors"]["query"]
    patched = composer.patch(f"/api/v1/suggestions/{sid}", json={"status": "answered"})
    assert patched.status_code == 422 and "status" in patched.get_json()["errors"]["json"]
    assert composer.patch(f"/api/v1/suggestions/{sid}", json={"text": "修东山路"}).get_json()["text"] == "修东山路"
    assert viewer.get(f"/api/v1/suggestions/{sid}").status_code == 200
    assert viewer.get("/api/v1/suggestions/99999").status_code == 404
    assert composer.client.get("/api/v1/suggestions").status_code == 401


def test_pages_and_roles(app, as_role):
    with app.app_context():
        deputy_id = _deputy().id
    composer, _ = as_role("composer")
    token = csrf_token(composer, "/suggestions/new")
    response = composer.post("/suggestions/new", data={"csrf_token": token, "deputy_id": str(deputy_id),
                                                       "text": "纸质建议：修缮村道"})
    assert response.status_code == 302
    with app.app_context():
        sid = db.session.scalar(select(Suggestion.id))
    page = composer.get(f"/suggestions/{sid}").get_data(as_text=True)
    assert "纸质建议：修缮村道" in page and 'id="assign-form"' in page
    response = composer.post(f"/suggestions/{sid}/assign", data={"csrf_token": token, "organ": "县交通运输局",
                                                                 "due_date": "2020-01-01"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Suggestion, sid).status == "received"  # a past due date is refused
    composer.post(f"/suggestions/{sid}/assign", data={"csrf_token": token, "organ": "县交通运输局", "due_date": ""})
    viewer, _ = as_role("viewer")
    html = viewer.get("/suggestions/").get_data(as_text=True)
    assert "县交通运输局" in html and "new-suggestion" not in html
    assert 'id="assign-form"' not in viewer.get(f"/suggestions/{sid}").get_data(as_text=True)
    vtoken = csrf_token(viewer, "/suggestions/")
    for path in ("/suggestions/new", f"/suggestions/{sid}/assign", f"/suggestions/{sid}/answer"):
        assert viewer.post(path, data={"csrf_token": vtoken, "organ": "x", "answer": "x", "text": "x",
                                       "deputy_id": str(deputy_id)}).status_code == 403, path
    assert viewer.get("/suggestions/new").status_code == 403
    with app.app_context():
        assert db.session.get(Suggestion, sid).status == "assigned"


def test_duty_record_counts_suggestions_and_the_api(app, api_as, staff):
    with app.app_context():
        deputy = _deputy()
        deputy_id = deputy.id
        composer = user(staff["composer"])
        answered = suggestions.create_for_deputy(deputy_id, "修路", composer)
        suggestions.create_for_deputy(deputy_id, "修桥", composer)
        suggestions.assign(answered, "县交通运输局", None, composer)
        suggestions.answer(answered, "已安排。", composer)
        receive({"MessageSid": new_sid(), "From": PHONE, "To": PLATFORM, "Body": "基本满意"})
        year = suggestions.local_today().year
    api = api_as("viewer")
    body = api.get(f"/api/v1/deputies/{deputy_id}/record").get_json()
    assert (body["suggestions"], body["suggestions_answered"], body["satisfaction"]["basically_satisfied"]) == (2, 1, 1)
    assert set(body) >= {"notices_received", "confirmed", "declined", "meetings_attended", "meetings_leave",
                         "meetings_absent", "suggestions", "suggestions_answered"}
    none = api.get(f"/api/v1/deputies/{deputy_id}/record?since={year - 1}-01-01&until={year - 1}-12-31").get_json()
    assert none["suggestions"] == 0
    bad = api.get(f"/api/v1/deputies/{deputy_id}/record?since=2026-12-31&until=2026-01-01")
    assert bad.status_code == 422 and "until" in bad.get_json()["errors"]["query"]
    assert "since" in api.get(f"/api/v1/deputies/{deputy_id}/record?since=yesterday").get_json()["errors"]["query"]
    assert api.get("/api/v1/deputies/99999/record").status_code == 404


def test_record_pages_and_export(app, as_role, staff):
    import io

    import openpyxl

    with app.app_context():
        deputy = create_deputy({"name": "甲代表", "phone": PHONE, "levels": ["county"], "groups": ["城关代表小组"]},
                               actor="system")
        deputy_id = deputy.id
        suggestions.create_for_deputy(deputy_id, "=HYPERLINK(\"x\")修路", user(staff["composer"]))
    viewer, _ = as_role("viewer")
    html = viewer.get("/duty-records/").get_data(as_text=True)
    assert 'id="records-chart"' in html and "城关代表小组" in html
    page = viewer.get(f"/duty-records/deputy/{deputy_id}").get_data(as_text=True)
    assert 'id="rec-suggestions">1<' in page
    assert viewer.get("/duty-records/deputy/99999").status_code == 404
    response = viewer.get("/duty-records/export.xlsx")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert len(workbook.worksheets) == 3 and workbook.worksheets[1]._charts
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert rows[1][0] == "甲代表" and rows[1][2] == "城关代表小组"
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "duty.export")) is not None
