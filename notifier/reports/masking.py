"""Which roles see deputies' numbers masked (138****8000): a setting an administrator chooses."""
from notifier.accounts.models import ROLES
from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices.models import Setting
from notifier.roster.phones import mask_phone

KEY = "reports_mask_numbers_for"
DEFAULT = ()  # nobody: the office decides whom to hide numbers from


def masked_roles():
    row = db.session.get(Setting, KEY)
    return tuple(row.value) if row is not None and isinstance(row.value, list) else DEFAULT


def set_masked_roles(roles, actor):
    """Store the roles (a subset of ROLES; admins always see numbers) and audit the change."""
    roles = sorted({r for r in roles if r in ROLES and r != "admin"})
    old = list(masked_roles())
    row = db.session.get(Setting, KEY)
    if row is None:
        row = Setting(key=KEY)
        db.session.add(row)
    row.value = roles
    row.updated_by_id = getattr(actor, "id", None)
    record("setting.change", actor=actor, key=KEY, old=old, new=roles)
    db.session.commit()
    return roles


def masker(user):
    """A function number -> number as this user may see it."""
    role = getattr(user, "role", None)
    if role is not None and role != "admin" and role in masked_roles():
        return mask_phone
    return lambda number: number
