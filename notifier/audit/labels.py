"""Readable names for audit actions and targets; unknown codes are shown as they are."""
from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.login_failed": _l("Failed login"),
    "auth.logout": _l("Logged out"),
    "auth.logout_everywhere": _l("Logged out on every browser"),
    "auth.session_expired": _l("Session ended (idle or too long)"),
    "auth.second_factor_failed": _l("Wrong second-step code"),
    "auth.totp_enrol": _l("Set up two-step login"),
    "auth.totp_reissue": _l("Two-step key reissued"),
    "auth.totp_reset": _l("Two-step login reset"),
    "auth.recovery_code_used": _l("Logged in with a recovery code"),
    "auth.locked": _l("Account locked after failed logins"),
    "auth.unlock": _l("Account unlocked"),
    "user.password_change": _l("Changed their password"),
    "user.create": _l("Created a user"),
    "user.update": _l("Changed a user"),
    "token.issue": _l("Issued an API token"),
    "token.revoke": _l("Revoked an API token"),
    "deputy.create": _l("Added a deputy"),
    "deputy.update": _l("Changed a deputy"),
    "deputy.opt_out": _l("Opted a deputy out"),
    "deputy.opt_in": _l("Opted a deputy back in"),
    "roster.import": _l("Imported the roster"),
    "roster.export": _l("Exported the roster"),
    "job.download": _l("Downloaded the file of a background job"),
    "personal.view_numbers": _l("Saw deputies' full numbers"),
    "audit.purge": _l("Purged audit rows past the retention"),
    "user.role_change": _l("Changed a user's role"),
    "notice.create": _l("Created a notice"),
    "notice.update": _l("Edited a notice"),
    "notice.submit": _l("Submitted a notice for approval"),
    "notice.approve": _l("Approved a notice"),
    "notice.reject": _l("Rejected a notice"),
    "notice.cancel": _l("Cancelled a notice"),
    "notice.schedule": _l("Scheduled a notice"),
    "notice.due": _l("A scheduled notice fell due"),
    "notice.send": _l("Started sending a notice"),
    "notice.complete": _l("A notice completed"),
    "notice.remind": _l("Reminded those who have not replied"),
    "notice.retry_failed": _l("Retried failed texts"),
    "reply.send": _l("Sent a reply to a deputy"),
    "reply.mark_read": _l("Marked replies read"),
    "reply.mark_unread": _l("Marked replies unread"),
    "reply.mark_handled": _l("Marked replies handled"),
    "reply.mark_unhandled": _l("Marked replies not handled"),
    "export.notice": _l("Exported a notice's delivery list"),
    "export.messages": _l("Exported the delivery log"),
    "setting.change": _l("Changed a setting"),
    "gateway.pause": _l("Paused a gateway"),
    "gateway.resume": _l("Resumed a gateway"),
    "gateway.order": _l("Changed the order of the gateways"),
    "meeting.attendance": _l("Recorded a meeting's attendance"),
    "suggestion.create": _l("Recorded a deputy's suggestion"),
    "suggestion.assign": _l("Assigned a suggestion to an organ"),
    "suggestion.answer": _l("Recorded the answer to a suggestion"),
    "suggestion.rate": _l("A deputy rated the answer to a suggestion"),
    "suggestion.update": _l("Changed a suggestion"),
    "duty.export": _l("Exported duty records"),
}

TARGET_LABELS = {
    "users": _l("User"),
    "api_tokens": _l("API token"),
    "deputies": _l("Deputy"),
    "notices": _l("Notice"),
    "messages": _l("Text message"),
    "inbound_messages": _l("Reply"),
    "settings": _l("Setting"),
    "suggestions": _l("Suggestion"),
}


# The keys of an event's details, as a person reads them.
DETAIL_LABELS = {
    "title": _l("Notice title"), "reason": _l("Reason"), "changed": _l("Changed"), "was": _l("Status before"),
    "send_after": _l("Sends from"), "reminder_id": _l("Reminder"), "retry_notice_id": _l("Resend"),
    "deputies": _l("Number of deputies"), "automatic": _l("Automatic"), "format": _l("Format"), "filters": _l("Filters"),
    "via": _l("Through"), "key": _l("Setting"), "old": _l("Before"), "new": _l("After"),
    "message_id": _l("Text message"), "ids": _l("Items"), "count": _l("Count"), "username": _l("Username"),
    "role": _l("Role"), "phone": _l("Number"), "name": _l("Name"), "paused": _l("Paused"), "order": _l("Order"),
    # A roster import's counts (its own words: "Created" elsewhere is a date column).
    "created": _l("Deputies added"), "updated": _l("Deputies updated"), "unchanged": _l("Deputies unchanged"),
    "total": _l("Rows in the file"), "errors": _l("Rows with errors"), "filename": _l("File name"),
}
# Reasons the platform records in English (they are data), in the reader's language.
REASON_LABELS = {
    "approval turned off": _l("approval is turned off"),
    "reminders without approval": _l("reminders are sent without approval"),
    "follow-up repeats approved text": _l("it repeats text already approved"),
    "admin": _l("by an administrator"),
}
# Values that are codes of their own.
VALUE_LABELS = {"api": _l("the API"), "csv": "CSV", "xlsx": "Excel (XLSX)"}


def _value(key, value):
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "、".join(_value(key, v) for v in value) if value else "—"
    if isinstance(value, dict):
        return "; ".join(f"{DETAIL_LABELS.get(k, k)}: {_value(k, v)}" for k, v in value.items()) or "—"
    if key in ("reminder_id", "retry_notice_id"):
        return f"#{value}"
    if key == "reason":
        return str(REASON_LABELS.get(value, value))
    if key == "was":
        from notifier.notices.models import STATUS_LABELS

        return str(STATUS_LABELS.get(value, value))
    return str(VALUE_LABELS.get(value, value)) if isinstance(value, str) else str(value)


def detail_items(detail):
    """An event's details as (label, value) pairs, words instead of codes, in a stable order."""
    if not isinstance(detail, dict):
        return [] if detail in (None, "") else [("", str(detail))]
    return [(str(DETAIL_LABELS.get(key, key)), _value(key, detail[key])) for key in sorted(detail)]


def action_label(code):
    return ACTION_LABELS.get(code, code)


def target_label(target_type, target_id=None):
    if not target_type:
        return ""
    label = TARGET_LABELS.get(target_type, target_type)
    return f"{label} #{target_id}" if target_id else str(label)
