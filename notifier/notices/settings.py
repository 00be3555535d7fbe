"""Run-time switches kept in the `settings` table; changing one is audited."""
from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices.models import Setting

DEFAULTS = {
    "approval_required": True,  # offices that do not need a second pair of eyes may turn it off
    # A reminder or resend repeats text an approver has passed: it goes on the composer's word
    # unless the office wants that approved again too. New text (a reply) is approved like any.
    "repeat_needs_approval": False,
}


def read_setting(key, default):
    """The stored value of `key` (its full name in the table), or `default` when it was never set."""
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def write_setting(key, value, old, actor=None):
    """Store `value` under `key` (its full name), audit the change from `old` and commit."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_by_id = getattr(actor, "id", None)
    record("setting.change", actor=actor, key=key, old=old, new=value)
    db.session.commit()
    return value


def get_setting(key):
    return read_setting(key, DEFAULTS[key])


def set_setting(key, value, actor=None):
    if key not in DEFAULTS:
        raise KeyError(key)
    return write_setting(key, value, get_setting(key), actor)


def approval_required():
    return bool(get_setting("approval_required"))
