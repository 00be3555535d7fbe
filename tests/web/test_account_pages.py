"""Staff users and API tokens (the system administrator's) and the audit trail (the audit
administrator's) pages."""
import re
from datetime import UTC, datetime, timedelta

from werkzeug.test import EnvironBuilder

from tests.conftest import PASSWORD, csrf_token
from tests.web.conftest import audit_actions, form_post


def get_user(app, username):
    from notifier.accounts.service import find_user
    from notifier.extensions import db

    with app.app_context():
        user = find_user(username)
        if user is not None:
            db.session.expunge(user)
        return user


def test_admin_creates_a_user_who_can_log_in(as_role, app):
    client, admin = as_role("admin")
    response = form_post(client, "/users/new/", {"username": "xiaoli", "display_name": "小李", "role": "composer", "password": "s3cret-pass"})
    assert response.status_code == 302
    user = get_user(app, "xiaoli")
    assert (user.display_name, user.role, user.active) == ("小李", "composer", True)
    assert ("user.create", admin.username, {"username": "xiaoli", "role": "composer"}) in audit_actions(app)

    other = app.test_client()
    token = csrf_token(other, "/login")
    assert other.post("/login", data={"username": "xiaoli", "password": "s3cret-pass", "csrf_token": token}).status_code == 302


def test_user_form_errors(as_role, app):
    client, _ = as_role("admin")
    html = form_post(client, "/users/new/", {"username": "a b", "role": "viewer", "password": "short"}).get_data(as_text=True)
    assert "a b" in html and get_user(app, "a b") is None
    client2_html = form_post(client, "/users/new/", {"username": "dup", "role": "viewer", "password": "Long-enough-1"})
    assert client2_html.status_code == 302
    html = form_post(client, "/users/new/", {"username": "dup", "role": "viewer", "password": "Long-enough-1"}).get_data(as_text=True)
    assert "用户名已被占用" in html or "already taken" in html
    html = form_post(client, "/users/new/", {"username": "x", "role": "emperor", "password": "Long-enough-1"}).get_data(as_text=True)
    assert get_user(app, "x") is None
    # The password policy, with its reason on the form.
    html = form_post(client, "/users/new/", {"username": "weakling", "role": "viewer", "password": "weakling-2026"}).get_data(as_text=True)
    assert "密码不得包含用户名" in html and get_user(app, "weakling") is None


def test_admin_edits_name_active_and_resets_password_but_not_roles(as_role, make_user, app):
    client, admin = as_role("admin")
    target = make_user("viewer", username="zhang")
    path = f"/users/edit/?id={target.id}"
    response = form_post(client, path, {"display_name": "张", "role": "approver", "active": "y", "new_password": ""})
    assert response.status_code == 302
    user = get_user(app, "zhang")
    # The role stays: giving roles is the security administrator's duty (三员分立).
    assert (user.display_name, user.role, user.active) == ("张", "viewer", True)
    assert user.check_password(PASSWORD)
    assert 'name="role"' not in client.get(path).get_data(as_text=True)

    form_post(client, path, {"display_name": "张", "new_password": "Brand-new-pass1"})
    user = get_user(app, "zhang")
    assert user.active is False and user.check_password("Brand-new-pass1")
    updates = [d for a, actor, d in audit_actions(app) if a == "user.update"]
    assert updates[0]["changes"] == {"display_name": ["zhang", "张"]}
    assert updates[1]["changes"] == {"active": [True, False], "password": "reset"}
    assert "Brand-new-pass1" not in str(updates)

    # the deactivated user can no longer log in
    other = app.test_client()
    token = csrf_token(other, "/login")
    assert other.post("/login", data={"username": "zhang", "password": "Brand-new-pass1", "csrf_token": token}).status_code == 200


def test_admin_creates_only_office_roles_and_leaves_the_other_duties_alone(as_role, make_user, app):
    client, _admin = as_role("admin")
    html = form_post(client, "/users/new/", {"username": "spy", "role": "auditor", "password": "Long-enough-1"}).get_data(as_text=True)
    assert get_user(app, "spy") is None and "is-invalid" in html
    for role in ("security_admin", "auditor"):
        duty = make_user(role)
        assert client.get(f"/users/edit/?id={duty.id}").status_code == 403
        response = form_post(client, f"/users/edit/?id={duty.id}", {"display_name": "x", "new_password": "Taken-over-12"},
                             token_path="/users/")
        assert response.status_code == 403
        assert get_user(app, duty.username).check_password(PASSWORD)


def test_admin_cannot_deactivate_themselves(as_role, app):
    client, admin = as_role("admin")
    path = f"/users/edit/?id={admin.id}"
    html = form_post(client, path, {"display_name": "x"}).get_data(as_text=True)
    assert "不能" in html  # "You cannot ..." in Chinese
    user = get_user(app, admin.username)
    assert (user.role, user.active, user.display_name) == ("admin", True, admin.display_name)
    assert not [a for a, *_ in audit_actions(app) if a == "user.update"]
    # a plain rename of oneself is fine
    assert form_post(client, path, {"display_name": "王主任", "active": "y"}).status_code == 302
    assert get_user(app, admin.username).display_name == "王主任"


def _bearer(app, plaintext):
    from notifier.accounts.auth import load_user_from_token

    with app.app_context():
        request = EnvironBuilder(headers={"Authorization": f"Bearer {plaintext}"}).get_request()
        user = load_user_from_token(request)
        return user.username if user is not None else None


def test_issue_shows_the_token_once_and_revoke_stops_it(as_role, make_user, app):
    from notifier.accounts.models import ApiToken
    from notifier.extensions import db

    client, admin = as_role("admin")
    owner = make_user("composer", username="robot")
    response = form_post(client, "/tokens/issue/", {"user_id": str(owner.id), "name": "报表系统"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    plaintext = re.search(r'id="plaintext-token" value="(ntf_[^"]+)"', html).group(1)
    assert _bearer(app, plaintext) == "robot"

    listing = client.get("/tokens/").get_data(as_text=True)
    assert plaintext not in listing and plaintext[:10] in listing and "报表系统" in listing
    with app.app_context():
        row = db.session.scalar(db.select(ApiToken))
        token_id = row.id
        assert row.last_used_at is not None  # the check above counted as a use
    assert plaintext not in client.get(f"/tokens/revoke/?id={token_id}").get_data(as_text=True)

    # revoke: a confirmation page, then a POST
    page = client.get(f"/tokens/revoke/?id={token_id}").get_data(as_text=True)
    assert 'id="confirm-revoke"' in page
    assert form_post(client, f"/tokens/revoke/?id={token_id}", {}, token_path="/tokens/").status_code == 302
    assert _bearer(app, plaintext) is None
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
    actions = [(a, actor, d.get("prefix")) for a, actor, d in audit_actions(app) if a.startswith("token.")]
    assert actions == [("token.issue", admin.username, plaintext[:10]), ("token.revoke", admin.username, plaintext[:10])]
    # revoking again changes nothing
    form_post(client, f"/tokens/revoke/?id={token_id}", {}, token_path="/tokens/")
    assert len([a for a, *_ in audit_actions(app) if a == "token.revoke"]) == 1


def test_issue_needs_an_existing_active_user(as_role, make_user, app):
    from notifier.accounts.models import ApiToken
    from notifier.extensions import db

    client, _ = as_role("admin")
    assert form_post(client, "/tokens/issue/", {"user_id": "9999", "name": "x"}).status_code == 200
    assert client.get("/tokens/revoke/?id=9999").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def _audit_rows(html):
    return re.findall(r'<td class="col-action">\s*<span data-action="([^"]+)"', html)


def test_audit_trail_newest_first_with_filters(as_role, app, make_user):
    from notifier.audit.models import AuditEvent
    from notifier.extensions import db

    client, admin = as_role("auditor")  # the audit administrator's page
    with app.app_context():
        old = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, 1 March
        db.session.add_all([
            AuditEvent(at=old, actor="cli", action="user.create", detail={"username": "a"}),
            AuditEvent(at=old + timedelta(hours=1), actor="zhang", action="deputy.update", detail={"fields": ["name"]}),
            AuditEvent(at=old + timedelta(days=3), actor="zhang", action="roster.import", detail={"created": 2}),
        ])
        db.session.commit()
    html = client.get("/audit/").get_data(as_text=True)
    actions = _audit_rows(html)
    assert actions[0] == "auth.login" and actions[-3:] == ["roster.import", "deputy.update", "user.create"]
    assert "2026-03-01 23:30:00" in html  # shown in local time
    # The details as a readable list, not JSON (issue 16).
    assert "audit-detail" in html and "&#34;created&#34;" not in html and '"created"' not in html

    # filters: flt<n>_<index>: 0 actor is, 1 actor contains, 2 action is, 3 action contains, 4 date on, 5 from, 6 until
    assert _audit_rows(client.get("/audit/?flt0_0=zhang").get_data(as_text=True)) == ["roster.import", "deputy.update"]
    assert _audit_rows(client.get("/audit/?flt0_2=user.create").get_data(as_text=True)) == ["user.create"] * 2  # + the admin's
    assert _audit_rows(client.get("/audit/?flt0_3=roster").get_data(as_text=True)) == ["roster.import"]
    # 15:30 UTC on 1 March is still 1 March in Shanghai; 16:30 UTC is 2 March
    assert _audit_rows(client.get("/audit/?flt0_4=2026-03-01").get_data(as_text=True)) == ["user.create"]
    assert _audit_rows(client.get("/audit/?flt0_4=2026-03-02").get_data(as_text=True)) == ["deputy.update"]
    assert _audit_rows(client.get("/audit/?flt0_5=2026-03-02&flt1_6=2026-03-31").get_data(as_text=True)) == [
        "roster.import", "deputy.update"]
    assert client.get("/audit/?flt0_4=not-a-date").status_code == 200
    # read-only
    assert "/audit/new/" not in html and "/audit/edit/" not in html
    assert client.get("/audit/new/").status_code == 403
    assert client.get("/audit/edit/?id=1").status_code == 403
