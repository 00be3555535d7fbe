"""When a notice may go out: its scheduled time, and quiet hours (QUIET_HOURS, local time) for
notices that are not urgent."""
from flask import current_app

from notifier import timeutil
from notifier.timeutil import parse_quiet_hours, utcnow  # noqa: F401  (parse_quiet_hours: its old home)


def quiet_until(when=None, config=None):
    """If `when` (aware, default now) falls in quiet hours, the UTC time they end; else None."""
    return timeutil.quiet_until(when or utcnow(), config or current_app.config)


def send_after(notice, now=None):
    """The earliest time dispatch may start: the scheduled time, then past quiet hours unless urgent."""
    now = now or utcnow()
    when = max(notice.scheduled_at or now, now)
    if not notice.urgent:
        when = quiet_until(when) or when
    return when
