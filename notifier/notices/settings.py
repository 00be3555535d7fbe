"""Run-time switches kept in the `settings` table; changing one is audited."""
from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices.models import Setting

DEFAULTS = {
    "approval_required": True,  # offices that do not need a second pair of eyes may turn it off
}


def get_setting(key):
    row = db.session.get(Setting, key)
    return DEFAULTS[key] if row is None else row.value


def set_setting(key, value, actor=None):
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.get(Setting, key)
    old = get_setting(key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_by_id = getattr(actor, "id", None)
    record("setting.change", actor=actor, key=key, old=old, new=value)
    db.session.commit()
    return value


def approval_required():
    return bool(get_setting("approval_required"))
