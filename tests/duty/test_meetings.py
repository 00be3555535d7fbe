"""Meetings: an invitation to a group through the real workers and the Twilio simulator, replies
"1", "2 出差在外", "收到" and none, 签到 by text and at the door, the attendance on the notice page
and through the API; and the rules, roles and bad input."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from flask_babel import force_locale
from sqlalchemy import func, select

from notifier.duty import meetings
from notifier.duty.models import Attendance
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from notifier.replies.models import InboundMessage
from notifier.replies.service import receive
from notifier.roster.models import DeputyGroup
from notifier.roster.service import create_deputy
from notifier.timeutil import utcnow
from tests.conftest import csrf_token, wait_until
from tests.duty.conftest import new_sid, notice_data, send_notice, user

PLATFORM = "+15005550006"
PEOPLE = {"甲代表": "+8613700000001", "乙代表": "+8613700000002", "丙代表": "+8613700000003",
          "丁代表": "+8613700000004"}


def _meeting_times(app):
    """A meeting later today (local time) with its reply deadline before it; skipped right before
    local midnight, when 'today' would end during the test."""
    now = utcnow()
    local = now.astimezone(ZoneInfo(app.config["TIMEZONE"]))
    if local.hour == 23 and local.minute >= 30:
        pytest.skip("too close to local midnight for a same-day meeting")
    meeting = min(now + timedelta(hours=1), datetime.combine(local.date(), datetime.max.time(), local.tzinfo)
                  - timedelta(minutes=5))
    return meeting, now + timedelta(minutes=10)


def _group_of_four():
    ids = {name: create_deputy({"name": name, "phone": phone, "levels": ["county"], "groups": ["城关代表小组"]},
                               actor="system").id for name, phone in PEOPLE.items()}
    create_deputy({"name": "外组代表", "phone": "+8613700000009", "levels": ["county"], "groups": ["东山代表组"]},
                  actor="system")
    return ids, db.session.scalar(select(DeputyGroup.id).where(DeputyGroup.name == "城关代表小组"))


def test_invitation_replies_sign_ins_and_attendance_through_workers(dctx, workers, sim_process, live_url, staff,
                                                                    as_role, api_as):
    app = dctx
    ids, group_id = _group_of_four()
    meeting_at, deadline = _meeting_times(app)
    sim_process.configure(inbound_url=f"{live_url}/webhooks/twilio/inbound")
    workers.start(beat=True, NOTICE_TICK_SECONDS=1)
    notice = workflow.create_notice(notice_data(
        title="县人大常委会第三十次会议", audience={"groups": [group_id]}, reply_deadline=deadline,
        meeting_at=meeting_at, meeting_place="县人大常委会三楼会议室"), user(staff["composer"]))
    workflow.submit(notice, user(staff["composer"]))
    workflow.approve(notice, user(staff["approver"]))
    nid = notice.id

    def delivered():
        db.session.commit()
        return {m["to"] for m in sim_process.accepted if m["status"] == "delivered"} >= set(PEOPLE.values())

    wait_until(delivered, 120, "the invitations to be delivered")
    assert len(sim_process.accepted) == 4  # the group only, each once

    def text(name, body):
        response = requests.post(f"{sim_process.url}/_sim/inbound", timeout=10,
                                 json={"from": PEOPLE[name], "to": PLATFORM, "body": body})
        assert response.status_code == 201

    text("甲代表", "1")
    text("乙代表", "2 出差在外")
    text("丁代表", "收到")

    def stored(n):
        def check():
            db.session.commit()
            return db.session.scalar(select(func.count()).select_from(InboundMessage)) >= n
        return check

    wait_until(stored(3), 60, "the three replies")
    text("甲代表", "签到")  # on the day: signs in
    wait_until(stored(4), 60, "the sign-in text")
    db.session.commit()
    sign_in = db.session.scalar(select(InboundMessage).where(InboundMessage.body == "签到"))
    assert (sign_in.kind, sign_in.notice_id, sign_in.reason) == ("sign_in", nid, "sign_in")
    ack = db.session.scalar(select(InboundMessage).where(InboundMessage.body == "收到"))
    assert (ack.kind, ack.reason) == ("ack", "acknowledged")

    # 丙 arrives without having replied: signed in at the door, on the phone page.
    door, _ = as_role("composer")
    page = door.get(f"/meetings/{nid}/sign-in").get_data(as_text=True)
    assert "丙代表" in page and "sign-in-button" in page
    token = csrf_token(door, f"/meetings/{nid}/sign-in")
    response = door.post(f"/meetings/{nid}/attendance", data={
        "csrf_token": token, "deputy_id": str(ids["丙代表"]), "status": "attended", "via": "door",
        "next": f"/meetings/{nid}/sign-in"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/meetings/{nid}/sign-in")

    body = api_as("viewer").get(f"/api/v1/notices/{nid}/attendance").get_json()
    rows = {r["name"]: r for r in body["items"]}
    assert {name: (r["status"], r["reply"], r["leave_reason"], r["via"]) for name, r in rows.items()} == {
        "甲代表": ("attended", "confirmed", None, "sms"),
        "乙代表": ("leave", "declined", "出差在外", None),
        "丙代表": ("attended", None, None, "door"),
        "丁代表": ("absent", "received", None, None),  # "收到" is not "I will attend"
    }
    assert body["summary"] == {"attended": 2, "leave": 1, "absent": 1, "invited": 4}
    assert rows["甲代表"]["signed_in_at"] and rows["丙代表"]["signed_in_at"]
    # The notice page shows it; its reply tally counts 收到 as received only.
    html = door.get(f"/notices/{nid}").get_data(as_text=True)
    assert 'id="attendance"' in html and "出差在外" in html and 'id="att-attended">2<' in html
    assert 'id="tally-received">1<' in html and 'id="tally-confirmed">1<' in html
    # Every step is audited.
    from notifier.audit.models import AuditEvent

    db.session.commit()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "meeting.attendance")
                                .order_by(AuditEvent.id)).all()
    assert [(e.actor, e.detail["via"]) for e in events] == [("sms", "sms"), (events[1].actor, "door")]


def test_sign_in_text_without_a_meeting_today_signs_nothing(ctx, staff):
    create_deputy({"name": "甲代表", "phone": PEOPLE["甲代表"], "levels": ["county"]}, actor="system")
    send_notice(staff, category="meeting", meeting_at=utcnow() + timedelta(days=3),
                reply_deadline=utcnow() + timedelta(days=2))
    row, _ = receive({"MessageSid": new_sid(), "From": PEOPLE["甲代表"], "To": PLATFORM, "Body": "签到"})
    assert (row.kind, row.reason) == ("text", "sign_in_no_meeting")
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    with force_locale("en"):
        assert "no meeting today" in row.reason_label


def test_staff_set_status_rules(ctx, staff):
    ids = {n: create_deputy({"name": n, "phone": p, "levels": ["county"]}, actor="system").id
           for n, p in list(PEOPLE.items())[:2]}
    notice = send_notice(staff, category="meeting")
    composer, viewer = user(staff["composer"]), user(staff["viewer"])
    with force_locale("en"):
        with pytest.raises(meetings.NotAllowed):
            meetings.set_status(notice, ids["甲代表"], "attended", viewer)
        with pytest.raises(meetings.AttendanceInvalid) as bad:
            meetings.set_status(notice, 99999, "present", composer)
        assert set(bad.value.errors) == {"deputy_id", "status"}
        other = send_notice(staff, category="activity")
        with pytest.raises(meetings.NotAMeeting):
            meetings.set_status(other, ids["甲代表"], "attended", composer)
    db.session.rollback()
    meetings.set_status(notice, ids["甲代表"], "leave", composer)
    meetings.set_status(notice, ids["甲代表"], "attended", composer)
    meetings.set_status(notice, ids["乙代表"], "absent", composer)
    rows = {r["name"]: r for r in meetings.attendance(db.session.get(Notice, notice.id))}
    assert rows["甲代表"]["status"] == "attended" and rows["甲代表"]["signed_in_at"]
    assert rows["乙代表"]["status"] == "absent" and rows["乙代表"]["signed_in_at"] is None


def test_attendance_api_errors_and_roles(app, api_as, staff):
    with app.app_context():
        deputy_id = create_deputy({"name": "甲代表", "phone": PEOPLE["甲代表"], "levels": ["county"]},
                                  actor="system").id
        nid = send_notice(staff, category="meeting").id
        other = send_notice(staff, category="knowledge").id
    composer, viewer = api_as("composer"), api_as("viewer")
    url = f"/api/v1/notices/{nid}/attendance"
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, json={"deputy_id": deputy_id, "status": "attended"}).status_code == 403
    assert composer.client.get(url).status_code == 401
    for body, field in (({"deputy_id": 99999, "status": "attended"}, "deputy_id"),
                        ({"deputy_id": deputy_id, "status": "present"}, "status"),
                        ({"status": "attended"}, "deputy_id"), ({"deputy_id": "x", "status": "leave"}, "deputy_id")):
        response = composer.post(url, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"]["json"], body
    assert composer.post(url, data="x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert composer.get("/api/v1/notices/99999/attendance").status_code == 404
    assert composer.get(f"/api/v1/notices/{other}/attendance").status_code == 409
    done = composer.post(url, json={"deputy_id": deputy_id, "status": "leave"})
    assert done.status_code == 200 and done.get_json()["items"][0]["status"] == "leave"


def test_meeting_pages_and_roles(app, as_role, staff):
    with app.app_context():
        deputy_id = create_deputy({"name": "甲代表", "phone": PEOPLE["甲代表"], "levels": ["county"]},
                                  actor="system").id
        nid = send_notice(staff, category="meeting", meeting_place="三楼会议室").id
    viewer, _ = as_role("viewer")
    assert "三楼会议室" in viewer.get("/meetings/").get_data(as_text=True)
    page = viewer.get(f"/meetings/{nid}/sign-in").get_data(as_text=True)
    assert "甲代表" in page and "sign-in-button" not in page  # a viewer reads, does not sign people in
    token = csrf_token(viewer, f"/meetings/{nid}/sign-in")
    assert viewer.post(f"/meetings/{nid}/attendance", data={"csrf_token": token, "deputy_id": str(deputy_id),
                                                            "status": "attended"}).status_code == 403
    composer, _ = as_role("composer")
    assert composer.post(f"/meetings/{nid}/attendance", data={"deputy_id": str(deputy_id),
                                                              "status": "attended"}).status_code == 400  # no CSRF
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_duty_record_counts_the_meeting(ctx, staff, api_as):
    from sqlalchemy import update

    from notifier.delivery.models import Message
    from notifier.duty import record

    ids = {n: create_deputy({"name": n, "phone": p, "levels": ["county"], "groups": ["城关代表小组"]},
                            actor="system").id for n, p in PEOPLE.items()}
    held = send_notice(staff, category="meeting", reply_deadline=utcnow() + timedelta(minutes=30),
                       meeting_at=utcnow() + timedelta(minutes=40))
    later = send_notice(staff, category="meeting", title="下月会议", meeting_at=utcnow() + timedelta(days=40),
                        reply_deadline=utcnow() + timedelta(days=39))
    db.session.execute(update(Message).values(status="delivered"))  # as the gateway reported
    db.session.commit()
    for name, body in (("甲代表", "1"), ("乙代表", "2 出差在外"), ("丙代表", "收到")):
        receive({"MessageSid": new_sid(), "From": PEOPLE[name], "To": PLATFORM, "Body": f"{body} #{held.reply_code}"})
    meetings.set_status(db.session.get(Notice, held.id), ids["甲代表"], "attended", user(staff["composer"]))
    span = record.period()
    got = record.records(list(ids.values()), span)
    assert {n: (got[i]["notices_received"], got[i]["confirmed"], got[i]["declined"], got[i]["meetings_attended"],
                got[i]["meetings_leave"], got[i]["meetings_absent"]) for n, i in ids.items()} == {
        "甲代表": (2, 1, 0, 1, 0, 0), "乙代表": (2, 0, 1, 0, 1, 0), "丙代表": (2, 0, 0, 0, 0, 1),
        "丁代表": (2, 0, 0, 0, 0, 1)}  # the meeting next month makes no one absent yet
    summary = record.summaries(span)
    group = next(r for g, _n, r in summary["groups"] if g.name == "城关代表小组")
    assert (group["meetings_attended"], group["meetings_leave"], group["meetings_absent"]) == (1, 1, 2)
    assert next(r for code, _n, r in summary["levels"] if code == "county")["notices_received"] == 8
    assert later.id
