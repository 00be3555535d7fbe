"""Which pages exist, in menu order."""
from flask_babel import lazy_gettext as _l


def register_views(admin):
    from notifier.web.roster_views import register as register_roster
    from notifier.web.account_views import register as register_accounts

    register_roster(admin)
    register_accounts(admin)
