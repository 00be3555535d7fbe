"""Templates (issue 12, item 3): registered with the CLI and the API, a notice composed from one
(variables checked against Aliyun's rules in both languages), dispatched per deputy and sent
through the official SDK to the simulator."""
import pytest
from sqlalchemy import select

from notifier.audit.models import AuditEvent
from notifier.delivery.models import SENT, SKIPPED, Message
from notifier.delivery.sending import deliver
from notifier.extensions import db
from notifier.notices.dispatch import dispatch_notice
from notifier.notices.models import SmsTemplate
from tests.notices.conftest import add_deputies

TEXT = "${name}代表您好，${content}请回复1确认。#${code}"


@pytest.fixture
def api(client, make_user, token_for):
    people = {role: make_user(role) for role in ("composer", "approver", "viewer")}
    headers = {role: token_for(u) for role, u in people.items()}

    def call(method, path, role="composer", lang="en", **kwargs):
        return client.open(f"/api/v1{path}", method=method, headers={**headers[role], "Accept-Language": lang},
                           **kwargs)

    return call


def test_the_cli_registers_and_lists_templates(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["templates", "add", "SMS_480000002", "--gateway", "aliyun", "--text",
                                 "${name}代表您好，${content}"])
    assert result.exit_code == 0, result.output
    assert "name, content" in result.output
    bad = runner.invoke(args=["templates", "add", "SMS_1", "--text", "【县人大】${x}"])
    assert bad.exit_code == 1 and "签名" in bad.output  # the CLI speaks the default language
    listed = runner.invoke(args=["templates", "list"])
    assert "SMS_480000002" in listed.output and "SMS_1" not in listed.output
    with app.app_context():
        template = db.session.scalar(select(SmsTemplate))
        assert template.variables == ["name", "content"] and template.approved
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "template.create"))


def test_the_api_registers_templates_with_field_errors(api):
    created = api("POST", "/templates", json={"code": "SMS_480000001", "gateway": "aliyun", "text": TEXT})
    assert created.status_code == 201, created.json
    assert created.json["variables"] == ["name", "content", "code"]
    assert api("POST", "/templates", role="viewer", json={"code": "X", "text": "y"}).status_code == 403
    bad = api("POST", "/templates", json={"code": "bad code!", "gateway": "sms", "text": ""})
    assert bad.status_code == 422 and set(bad.json["errors"]["json"]) >= {"code", "gateway", "text"}
    listed = api("GET", "/templates", role="viewer").json
    assert [t["code"] for t in listed["items"]] == ["SMS_480000001"]


@pytest.mark.parametrize("lang, words", [("en", "At most 35 characters"), ("zh", "35")])
def test_a_variable_too_long_is_refused_at_compose_time(api, lang, words):
    api("POST", "/templates", json={"code": "SMS_480000001", "text": TEXT})
    long = "请各位代表于本周五上午九时到县人大常委会三楼会议室参加常委会第二十次会议并做好发言准备"
    response = api("POST", "/notices", lang=lang, json={
        "title": "会议通知", "template": "SMS_480000001", "params": {"content": long},
        "audience": {"levels": ["county"]}, "reply": "confirm"})
    assert response.status_code == 422
    message = response.json["errors"]["json"]["params.content"][0]
    assert words in message and (lang == "en" or "变量" in message), message
    for params, field in (({"content": "详见 http://x.cn/a"}, "params.content"),
                          ({"content": "【通知】开会"}, "params.content"), ({"nope": "1", "content": "开会"}, "params.nope"),
                          ({}, "params.content")):
        response = api("POST", "/notices", json={"title": "t", "template": "SMS_480000001", "params": params,
                                                 "audience": {"levels": ["county"]}})
        assert response.status_code == 422 and field in response.json["errors"]["json"], (params, response.json)
    unknown = api("POST", "/notices", json={"title": "t", "template": "SMS_9", "audience": {"levels": ["county"]}})
    assert "template" in unknown.json["errors"]["json"]


def test_a_templated_notice_goes_out_through_aliyun_per_deputy(actx, api, aliyun_sim):
    ids = add_deputies(3, levels=("county",))
    add_deputies(1, levels=("county",), start=50, name="欧阳" * 18)  # 36 characters: over the rule
    # The simulator holds the same approved template under the same code.
    aliyun_sim.configure(templates={"SMS_480000001": TEXT})
    assert api("POST", "/templates", json={"code": "SMS_480000001", "text": TEXT}).status_code == 201
    notice = api("POST", "/notices", json={"title": "会议通知", "template": "SMS_480000001",
                                           "params": {"content": "周五九时开常委会，"},
                                           "audience": {"levels": ["county"]}, "reply": "confirm"}).json
    assert notice["template"] == "SMS_480000001" and notice["params"] == {"content": "周五九时开常委会，"}
    submitted = api("POST", f"/notices/{notice['id']}/submit")
    assert submitted.status_code == 422 and "欧阳" in str(submitted.json)  # the long name is caught too
    db.session.execute(db.update(db.Model.metadata.tables["deputies"]).where(
        db.Model.metadata.tables["deputies"].c.name.like("欧阳%")).values(name="欧阳修"))
    db.session.commit()
    assert api("POST", f"/notices/{notice['id']}/submit").status_code == 200
    approved = api("POST", f"/notices/{notice['id']}/approve", role="approver")
    assert approved.status_code == 200, approved.json
    dispatch_notice(notice["id"])
    messages = db.session.scalars(select(Message).where(Message.notice_id == notice["id"])).all()
    assert len(messages) == 4 and {m.template_code for m in messages} == {"SMS_480000001"}
    first = next(m for m in messages if m.deputy_id == ids[0])
    assert first.template_params["name"] == "代表0" and first.template_params["code"]
    assert first.body == f"【县人大常委会】代表0代表您好，周五九时开常委会，请回复1确认。#{first.template_params['code']}"
    assert SKIPPED not in {m.status for m in messages}
    body, code, message_ids = first.body, first.template_params["code"], [m.id for m in messages]
    assert deliver(message_ids)["accepted"] == 4
    db.session.commit()
    assert {m.status for m in db.session.scalars(select(Message).where(Message.notice_id == notice["id"]))} == {SENT}
    sent = {s["PhoneNum"]: s for s in aliyun_sim.accepted}
    assert sent["13900000000"]["Content"] == body  # what Aliyun sends is what we show
    assert sent["13900000000"]["Params"]["code"] == code


def test_the_templates_page_needs_a_login_a_role_and_csrf(app, client, login, make_user):
    from tests.conftest import csrf_token

    assert client.get("/templates/").status_code in (302, 401)  # to the login page
    viewer, composer = make_user("viewer"), make_user("composer")
    login(viewer)
    assert client.get("/templates/").status_code == 200
    token = csrf_token(client, "/templates/")
    form = {"code": "SMS_480000009", "gateway": "aliyun", "text": "${content}", "approved": "y"}
    assert client.post("/templates/", data={**form, "csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(composer)
    assert client.post("/templates/", data=form).status_code == 400  # no CSRF token
    token = csrf_token(client, "/templates/")
    assert client.post("/templates/", data={**form, "csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SmsTemplate.code)) == "SMS_480000009"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "template.create"))
        assert event is not None and event.actor == composer.username
