"""Admin pages for staff accounts, API tokens and the audit trail."""
from flask_babel import lazy_gettext as _l


def register(admin):
    pass
