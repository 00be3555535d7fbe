"""Everything an administrator may change, in one list: each setting's current value and where it
comes from (the environment, read at start; or the settings page, with who changed it and when).
Settings stay with their domains (notices, replies, reports, gateways); this only gathers them."""
import dataclasses
import os

from flask import current_app
from flask_babel import lazy_gettext as _l

from notifier.extensions import db
from notifier.notices.models import Setting

ENVIRONMENT, PAGE, DEFAULT = "environment", "page", "default"
# Switches the settings page itself changes: (table key, label, domain module getter/setter name).
SWITCHES = (
    ("approval_required", _l("Notices need an approver"), "notices"),
    ("repeat_needs_approval", _l("Reminders and resends of approved text need approval again"), "notices"),
    ("reminders_without_approval", _l("Reminders go without approval"), "replies"),
    ("direct_replies_without_approval", _l("Replies to a deputy go without approval"), "replies"),
)


@dataclasses.dataclass
class Item:
    key: str
    label: object
    value: object
    source: str  # environment, page or default
    where: str = ""  # the variable's name, or who changed it and when
    editable: bool = False
    kind: str = "switch"  # how the page edits it: switch, hours or roles


def _env(name, label):
    value = current_app.config.get(name)
    source = ENVIRONMENT if name in os.environ else DEFAULT
    return Item(name, label, value if value not in (None, "") else "—", source, name)


def _stored(full_key, key, label, value, editable):
    row = db.session.get(Setting, full_key)
    if row is None:
        return Item(key, label, value, DEFAULT, editable=editable)
    from notifier.accounts.models import User

    who = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
    return Item(key, label, value, PAGE, f"{who or ''} {row.updated_at:%Y-%m-%d %H:%M} UTC".strip(), editable)


def overview():
    from notifier.gateways.health import get_registry
    from notifier.notices import settings as notice_settings
    from notifier.replies import settings as reply_settings
    from notifier.reports import masking

    items = [_env("SMS_SIGNATURE", _l("Signature")), _env("QUIET_HOURS", _l("Quiet hours")),
             _env("TIMEZONE", _l("Time zone"))]
    registry = get_registry()
    for name in registry.names:
        own = f"{name.upper()}_RATE_LIMIT"
        variable = own if current_app.config.get(own) not in (None, "", False) else "SMS_RATE_LIMIT"
        item = _env(variable, _l("Sending rate of %(name)s (segments per second)", name=name))
        item.key, item.value = own, registry.rate(name)
        items.append(item)
    for key, label, domain in SWITCHES:
        module = notice_settings if domain == "notices" else reply_settings
        full = key if domain == "notices" else f"replies.{key}"
        items.append(_stored(full, key, label, bool(module.get_setting(key)), True))
    hours = _stored("replies.auto_remind_hours", "auto_remind_hours",
                    _l("Automatic reminder, hours before the deadline"), reply_settings.get_setting(
                        "auto_remind_hours"), True)
    hours.kind = "hours"
    masked = _stored(masking.KEY, "masking", _l("Numbers masked for"), list(masking.masked_roles()), True)
    masked.kind = "roles"
    return items + [hours, masked]


MAX_REMIND_HOURS = 24 * 30


def change_remind_hours(text, actor):
    """Set the automatic reminder's hours before the deadline from what was typed ("" turns it
    off); ValueError when it is not a number of hours in (0, 720]."""
    from notifier.replies import settings as reply_settings

    text = (text or "").strip()
    hours = float(text) if text else None
    if hours is not None and not 0 < hours <= MAX_REMIND_HOURS:
        raise ValueError(text)
    if hours != reply_settings.get_setting("auto_remind_hours"):
        reply_settings.set_setting("auto_remind_hours", hours, actor=actor)


def change_masking(roles, actor):
    from notifier.reports import masking

    if sorted(set(roles) - {"admin"}) != sorted(masking.masked_roles()):
        masking.set_masked_roles(roles, actor)


def change(key, value, actor):
    """Set one of the page's switches (audited by the domain's setter)."""
    from notifier.notices import settings as notice_settings
    from notifier.replies import settings as reply_settings

    domain = {k: d for k, _label, d in SWITCHES}.get(key)
    if domain is None:
        raise KeyError(key)
    module = notice_settings if domain == "notices" else reply_settings
    if bool(module.get_setting(key)) != bool(value):
        module.set_setting(key, bool(value), actor=actor)
