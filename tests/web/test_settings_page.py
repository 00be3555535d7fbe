"""The settings page's reminder hours and masking: refused values save nothing, others are kept
(who may use the page: tests/platform/test_role_walk.py)."""
from tests.web.conftest import form_post


def test_reminder_hours_are_checked_and_masking_kept(as_role, app):
    from notifier.replies.settings import get_setting
    from notifier.reports.masking import masked_roles

    client, _ = as_role("admin")
    for bad in ("800", "0", "-1", "abc"):
        response = form_post(client, "/settings/", {"key": "auto_remind_hours", "value": bad})
        assert response.status_code == 302
        with app.app_context():
            assert get_setting("auto_remind_hours") is None, bad
    form_post(client, "/settings/", {"key": "auto_remind_hours", "value": "6"})
    client.post("/settings/", data={"key": "masking", "mask": ["viewer", "admin", "nobody"],
                                    "csrf_token": _token(client)})
    with app.app_context():
        assert get_setting("auto_remind_hours") == 6.0
        assert masked_roles() == ("viewer",)  # administrators always see numbers; unknown roles dropped


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client, "/settings/")
