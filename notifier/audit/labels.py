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


def action_label(code):
    return ACTION_LABELS.get(code, code)


def target_label(target_type, target_id=None):
    if not target_type:
        return ""
    label = TARGET_LABELS.get(target_type, target_type)
    return f"{label} #{target_id}" if target_id else str(label)
