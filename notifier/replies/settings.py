"""Run-time switches for replies, in the shared `settings` table; changing one is audited."""
from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices.models import Setting

DEFAULTS = {
    "reminders_without_approval": False,  # reminders go through approval like any notice
    "direct_replies_without_approval": False,  # one-off replies from a conversation likewise
    "auto_remind_hours": None,  # hours before a reply deadline to remind non-responders; None: off
}


def get_setting(key):
    row = db.session.get(Setting, f"replies.{key}")
    return DEFAULTS[key] if row is None else row.value


def set_setting(key, value, actor=None):
    if key not in DEFAULTS:
        raise KeyError(key)
    name = f"replies.{key}"
    old = get_setting(key)
    row = db.session.get(Setting, name)
    if row is None:
        row = Setting(key=name)
        db.session.add(row)
    row.value = value
    row.updated_by_id = getattr(actor, "id", None)
    record("setting.change", actor=actor, key=name, old=old, new=value)
    db.session.commit()
    return value
