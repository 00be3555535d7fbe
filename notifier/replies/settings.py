"""Run-time switches for replies, in the shared `settings` table; changing one is audited."""
from notifier.notices.settings import read_setting, write_setting

DEFAULTS = {
    "reminders_without_approval": False,  # reminders go through approval like any notice
    "direct_replies_without_approval": False,  # one-off replies from a conversation likewise
    "auto_remind_hours": None,  # hours before a reply deadline to remind non-responders; None: off
}


def get_setting(key):
    return read_setting(f"replies.{key}", DEFAULTS[key])


def set_setting(key, value, actor=None):
    if key not in DEFAULTS:
        raise KeyError(key)
    return write_setting(f"replies.{key}", value, get_setting(key), actor)
