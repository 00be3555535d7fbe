"""Every route of the URL map, for every role: who gets through and who gets 403 (三员分立
included). Each endpoint must be declared in ACCESS below, so a new page or API call cannot
appear without someone deciding who may use it: the walk fails on an undeclared endpoint.

Pages are walked with a logged-in browser session per role (through the second step where the
role has one), API calls with a bearer token per role. A role that is let through may still get
a 302, 400, 404 or 422 (a made-up id, an empty form); it must never get 401/403, and nobody
gets a 500.
"""
import re

import pytest

from notifier.accounts.models import PERMISSIONS, ROLES
from tests.conftest import csrf_token

# endpoint -> the permission (accounts.models.PERMISSIONS) that opens it, or:
#   "public"  anyone, logged in or not;    "nobody"  403 for every role (switched-off edits);
#   "webhook" signed by the gateway, no session (a forged request gets 403);  "static" files.
ACCESS = {
    "admin.index": "account",
    "admin.static": "static", "static": "static", "notice_assets.static": "static",
    "auth.login": "public", "auth.two_factor": "public", "auth.set_language": "public",
    "auth.logout": "account", "auth.logout_everywhere": "account",
    "account.index": "account", "account_2fa.index": "account",
    # The roster: staff read it, editors change it, nobody deletes.
    "deputies.index_view": "view", "deputies.details_view": "view", "deputies.export": "view",
    "deputies.export_view": "view", "deputies.ajax_lookup": "view", "deputies.filter_view": "view",
    "deputies.create_view": "edit_roster", "deputies.edit_view": "edit_roster", "deputies.action_view": "edit_roster",
    "deputies.ajax_update": "edit_roster", "deputies.opt_out_view": "edit_roster", "deputies.delete_view": "nobody",
    "roster_import.index": "edit_roster", "roster_import.apply": "edit_roster", "roster_import.discard": "edit_roster",
    "roster_import.template": "edit_roster",
    # Background jobs (imports, exports): staff; each job only for its owner and admins (404 otherwise).
    "jobs.index": "view", "jobs.show": "view", "jobs.status_json": "view", "jobs.download": "view",
    # Notices, replies, the delivery log and reports: the office's work.
    "notices.index": "view", "notices.show": "view", "notices.progress_json": "view", "notices.compose": "compose",
    "notices.edit": "compose", "notices.preview_json": "compose", "notices.deputy_search": "compose", "notices.step": "view",
    "approvals.index": "approve", "approvals.settings": "admin",
    "delivery.status_json": "view",
    "replies.index": "view", "replies.conversation": "view", "replies.notice_tally": "view",
    "replies.send": "view", "replies.mark_view": "view", "replies.remind": "view", "replies.settings": "admin",
    "reports.index": "view", "reports.settings": "admin",
    "message_log.index": "view", "message_log.show": "view", "message_log.notice": "view",
    "message_log.export_log": "view", "message_log.export_notice": "view", "message_log.retry": "view",
    "message_log.unreached_list": "view", "message_log.resend": "view",
    # Duty work: staff read it, composers act (sign-in, suggestions' steps).
    "groups.index": "view", "groups.show": "view", "meetings.index": "view", "meetings.sign_in": "view",
    "meetings.set_attendance": "view", "suggestions.index": "view", "suggestions.show": "view",
    "suggestions.assign": "view", "suggestions.answer": "view", "suggestions.new": "compose",
    "duty_records.index": "view", "duty_records.deputy": "view", "duty_records.export": "view",
    # Templates of template-only gateways (Aliyun): staff read them, composers register them.
    "sms_templates.index": "view",
    # The system administrator: users, API tokens, gateways.
    "users.index_view": "admin", "users.create_view": "admin", "users.edit_view": "admin", "users.details_view": "admin",
    "users.export": "admin", "users.ajax_lookup": "admin", "users.ajax_update": "admin", "users.action_view": "admin",
    "users.delete_view": "nobody",
    "tokens.index_view": "admin", "tokens.issue_view": "admin", "tokens.revoke_view": "admin",
    "tokens.details_view": "admin", "tokens.export": "admin", "tokens.ajax_lookup": "admin",
    "tokens.create_view": "nobody", "tokens.edit_view": "nobody", "tokens.ajax_update": "nobody",
    "tokens.action_view": "nobody", "tokens.delete_view": "nobody",
    "settings.index": "admin", "gateways.index": "admin", "gateways.check": "admin", "gateways.pause": "admin", "gateways.order": "admin",
    # The security administrator: roles, policy, unlocking, second factors, sessions.
    "security.index": "security", "security.policy": "security", "security.role": "security",
    "security.unlock": "security", "security.reset_two_factor": "security", "security.end_sessions": "security",
    # The audit administrator reads the trail; nobody changes it.
    "audit.index_view": "audit", "audit.details_view": "audit", "audit.export": "audit", "audit.ajax_lookup": "audit",
    "audit.create_view": "nobody", "audit.edit_view": "nobody", "audit.delete_view": "nobody",
    "audit.action_view": "nobody", "audit.ajax_update": "nobody",
    # Operations: probes for anyone, metrics behind their own token or network rule
    # (tests/platform/test_operations.py).
    "ops.healthz": "public", "ops.readyz": "public", "ops.metrics": "metrics",
    # Webhooks.
    "delivery.twilio_status": "webhook", "replies_webhook.twilio_inbound": "webhook",
    "aliyun_webhook.aliyun_report": "webhook", "aliyun_webhook.aliyun_up": "webhook",
    # REST API v1 (bearer tokens).
    "api-docs.openapi_json": "public",
    "api_deputies.Deputies": "view", "api_deputies.DeputyItem": "view", "api_deputies.DeputyImport": "edit_roster",
    "api_notices.Notices": "view", "api_notices.NoticeItem": "view", "api_notices.NoticeMessages": "view",
    "api_notices.submit": "compose", "api_notices.approve": "approve", "api_notices.reject": "approve",
    "api_notices.cancel": "compose", "api_replies.remind": "compose", "api_replies.Replies": "view",
    "api_messages.Messages": "view", "api_messages.MessageItem": "view", "api_notice_exports.NoticeExport": "view",
    "api_audit_events.AuditEvents": "audit",
    "api_groups.Groups": "view", "api_attendance.NoticeAttendance": "view", "api_duty_records.DeputyRecord": "view",
    "api_suggestions.Suggestions": "view", "api_suggestions.SuggestionItem": "view",
    "api_suggestions.suggestion_assign": "compose", "api_suggestions.suggestion_answer": "compose",
    "api_templates.Templates": "view",
}
# Some API calls check a finer permission only for writes (e.g. POST /deputies needs edit_roster).
API_WRITES = {("api_deputies.Deputies", "POST"): "edit_roster", ("api_deputies.DeputyItem", "PATCH"): "edit_roster",
              ("api_notices.Notices", "POST"): "compose", ("api_notices.NoticeItem", "PATCH"): "compose",
              ("api_attendance.NoticeAttendance", "POST"): "compose", ("api_suggestions.Suggestions", "POST"): "compose",
              ("api_suggestions.SuggestionItem", "PATCH"): "compose", ("api_templates.Templates", "POST"): "compose"}
# Pages whose POST needs a finer permission than their GET, checked inside the view.
PAGE_WRITES = {"notices.step": None, "replies.send": "compose", "replies.mark_view": "compose",
               "replies.remind": "compose", "message_log.retry": "compose", "meetings.set_attendance": "compose",
               "suggestions.assign": "compose", "suggestions.answer": "compose", "sms_templates.index": "compose",
               "message_log.resend": "compose"}
ARGUMENTS = {"fmt": "csv", "export_type": "csv", "gateway": "twilio", "step": "approve"}


def _endpoints(app):
    return {rule.endpoint for rule in app.url_map.iter_rules()}


def test_every_endpoint_is_declared(app):
    undeclared = sorted(_endpoints(app) - set(ACCESS))
    assert not undeclared, f"declare who may use these in ACCESS: {undeclared}"
    gone = sorted(set(ACCESS) - _endpoints(app))
    assert not gone, f"no longer in the URL map: {gone}"
    assert {v for v in ACCESS.values()} <= set(PERMISSIONS) | {"public", "nobody", "webhook", "static", "metrics"}


def test_the_three_duties_share_no_permission():
    duties = {"admin": PERMISSIONS["admin"], "security": PERMISSIONS["security"], "audit": PERMISSIONS["audit"]}
    assert duties == {"admin": {"admin"}, "security": {"security_admin"}, "audit": {"auditor"}}
    for role in ("security_admin", "auditor"):
        assert [p for p, roles in PERMISSIONS.items() if role in roles] == [
            {"security_admin": "security", "auditor": "audit"}[role], "account"]


def _url(rule, ids):
    def value(match):
        name = match.group(2)
        return str(ids.get(name, ARGUMENTS.get(name, 1)))

    path = re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?(\w+)>", value, rule.rule).replace("//", "/")
    if rule.endpoint.split(".")[-1] in ("edit_view", "details_view", "revoke_view", "opt_out_view") or \
            rule.endpoint.startswith("security.") and rule.endpoint != "security.index":
        path += f"?id={ids['user_or_row']}"
    return path


def _allowed(role, permission):
    return permission == "public" or (permission in PERMISSIONS and role in PERMISSIONS[permission])


@pytest.fixture
def world(app, make_user, monkeypatch):
    """A user per role, logged in, and a few rows so routes with ids find something. The gateway
    check asks a Twilio that refuses at once (nothing listens on port 9)."""
    for key, value in {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "walk",
                       "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
                       "TWILIO_HTTP_TIMEOUT": 2}.items():
        monkeypatch.setitem(app.config, key, value)
    from notifier.accounts.models import User
    from notifier.accounts.service import issue_token
    from notifier.extensions import db
    from notifier.roster.service import create_deputy

    with app.app_context():
        deputy = create_deputy({"name": "张三", "phone": "13800138000", "levels": "county"}, actor="system")
        deputy_id = deputy.id
    target = make_user("viewer", username="target")
    composer = make_user("composer", username="writer")
    with app.app_context():
        from notifier.notices import workflow
        from tests.notices.conftest import notice_data

        issue_token(db.session.get(User, target.id), name="walk")
        notice = workflow.create_notice(notice_data(), db.session.get(User, composer.id))
        notice_id = notice.id
    return {"deputy_id": deputy_id, "notice_id": notice_id, "message_id": 1, "user_or_row": target.id}


@pytest.mark.parametrize("role", ROLES)
def test_pages_role_by_role(role, app, make_user, login, client, world):
    user = make_user(role)
    login(user)
    token = csrf_token(client, "/account/two-factor/")
    checked = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        permission = ACCESS[rule.endpoint]
        if rule.rule.startswith("/api/") or permission in ("static", "webhook", "metrics"):
            continue
        if rule.endpoint in ("auth.logout", "auth.logout_everywhere", "auth.set_language"):
            continue  # would end the walk's own session; covered by tests/web
        url = _url(rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            needed = PAGE_WRITES.get(rule.endpoint, permission) if method == "POST" else permission
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            checked += 1
            assert response.status_code < 500, (role, method, url, response.status_code)
            if permission == "public":
                pass  # reachable by anyone; where it sends a logged-in user is tests/web's
            elif permission == "nobody":
                assert response.status_code == 403, (role, method, url, response.status_code)
            elif needed is None:
                pass  # decided inside the view per notice (tested in tests/notices)
            elif _allowed(role, needed):
                assert response.status_code not in (401, 403), (role, method, url, response.status_code)
                if response.status_code == 302:
                    assert not response.headers["Location"].startswith("/login"), (role, method, url)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
    assert checked > 80


@pytest.mark.parametrize("role", ROLES)
def test_api_role_by_role(role, app, make_user, token_for, client, world):
    headers = token_for(make_user(role))
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or ACCESS[rule.endpoint] == "public":
            continue
        url = _url(rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            needed = API_WRITES.get((rule.endpoint, method), ACCESS[rule.endpoint])
            response = client.open(url, method=method, headers=headers, json={} if method != "GET" else None)
            checked += 1
            assert response.status_code < 500, (role, method, url, response.status_code)
            if role in PERMISSIONS[needed]:
                assert response.status_code not in (401, 403), (role, method, url, response.status_code)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
    assert checked > 15
