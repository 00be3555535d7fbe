"""Reply settings from the app config, else the environment, else a default (kept here so the
package is self-contained; the word lists are in words.py)."""
import os

from flask import current_app

DEFAULTS = {
    "REPLY_ACK_TEXT": "",  # answered in the webhook's TwiML to every inbound text; empty: no answer
    "REPLY_HELP_TEXT": "本号码为县人大常委会代表联络短信。回复1确认参加，2请假，回复退订停止接收，回复订阅恢复接收。",
    "REPLY_OPEN_DAYS": 30,  # a notice without a deadline takes replies this long after it was sent
    "REPLY_LATE_DAYS": 7,  # after the deadline, replies still thread to the notice (marked late) this long
    "REPLY_REMIND_SECONDS": 60.0,  # beat: how often automatic reminders are looked for
    # beat: how often the gateway's inbound list is read for texts the webhook never brought
    "REPLY_CATCHUP_SECONDS": 120.0,
    "REPLY_CATCHUP_SLACK_SECONDS": 600.0,  # each pass reads from this long before the last one started
    "REPLY_CATCHUP_FIRST_HOURS": 24.0,  # how far back the very first pass reads
}


def conf(name):
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value is None:
        value = DEFAULTS[name]
    return type(DEFAULTS[name])(value)
