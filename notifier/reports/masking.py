"""Which roles see deputies' numbers masked (138****8000): a setting an administrator chooses.

Every place that shows a deputy's number to a user goes through `masker(user)`: lists, exports,
the API, pickers, replies, and the gateway's raw callbacks shown on a message.
"""
import phonenumbers

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


def sees_full_numbers(user):
    role = getattr(user, "role", None)
    return role is None or role == "admin" or role not in masked_roles()


def _unmasked(number):
    return number


def masker(user):
    """A function number -> number as this user may see it. Full numbers shown to someone in a
    request are counted, and the request leaves one audit row saying how many (audit/service.py)."""
    if not sees_full_numbers(user):
        return mask_phone
    from flask import g, has_request_context

    if not has_request_context():
        return _unmasked

    def counted(number):
        if number:
            g.full_numbers_shown = g.get("full_numbers_shown", 0) + 1
        return number

    counted.full = True
    return counted


def mask_in(value, number, mask):
    """`value` (a gateway's raw callback: dicts, lists, strings) with every spelling of `number`
    in it masked ("+8613800138000", "8613800138000", "13800138000")."""
    if mask is None or mask is _unmasked or getattr(mask, "full", False) or not number:
        return value
    masked = mask(number)
    spellings = sorted(_spellings(number), key=len, reverse=True)

    def walk(item):
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [walk(inner) for inner in item]
        if isinstance(item, str):
            for spelling in spellings:
                item = item.replace(spelling, masked)
        return item

    return walk(value)


def _spellings(number):
    found = {number, number.lstrip("+")}
    try:
        found.add(phonenumbers.national_significant_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        pass
    return {s for s in found if len(s) >= 5}
