"""Which pages exist, in menu order."""


def register_views(admin):
    from flask_babel import get_locale

    from notifier.web.common import join_list, local_datetime

    admin.app.add_template_filter(local_datetime, "local_datetime")
    admin.app.add_template_filter(join_list, "join_list")
    admin.app.add_template_global(get_locale, "get_locale")
    from notifier.web.roster_views import display_phone, shown_phone

    admin.app.add_template_filter(display_phone, "phone")
    admin.app.add_template_filter(shown_phone, "shown_phone")  # masked for masked roles, else formatted
    from notifier.web.common import masked

    admin.app.add_template_filter(masked, "masked")
    from notifier.web.common import readable_json

    admin.app.add_template_filter(readable_json, "readable_json")
    from notifier.web.account_views import register as register_accounts
    from notifier.web.notice_views import register as register_notices
    from notifier.web.reply_views import register as register_replies  # issue 5
    from notifier.web.roster_views import register as register_roster

    register_roster(admin)
    register_notices(admin)
    from notifier.web.template_views import register as register_templates  # issue 12

    register_templates(admin)
    register_replies(admin)
    register_accounts(admin)
    from notifier.web.security_views import register as register_security

    register_security(admin)
    from notifier.web.gateway_views import register as register_gateways

    register_gateways(admin)
    from notifier.web.settings_views import register as register_settings

    register_settings(admin)
    from notifier.web.report_views import register as register_reports  # issue 6 (H10)

    register_reports(admin)
    from notifier.web.duty_views import register as register_duty  # issue 13

    register_duty(admin)
    from notifier.web.job_views import register as register_jobs  # issue 15

    register_jobs(admin)
