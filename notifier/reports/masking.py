"""Which roles see deputies' numbers masked (138****8000): a setting an administrator chooses."""
from notifier.accounts.models import ROLES
from notifier.notices.settings import read_setting, write_setting
from notifier.roster.phones import mask_phone

KEY = "reports_mask_numbers_for"
DEFAULT = ()  # nobody: the office decides whom to hide numbers from


def masked_roles():
    value = read_setting(KEY, None)
    return tuple(value) if isinstance(value, list) else DEFAULT


def set_masked_roles(roles, actor):
    """Store the roles (a subset of ROLES; admins always see numbers) and audit the change."""
    roles = sorted({r for r in roles if r in ROLES and r != "admin"})
    return write_setting(KEY, roles, list(masked_roles()), actor)


def masker(user):
    """A function number -> number as this user may see it."""
    role = getattr(user, "role", None)
    if role is not None and role != "admin" and role in masked_roles():
        return mask_phone
    return lambda number: number
