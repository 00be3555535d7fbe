"""Thin reply tasks (issue 5): the bodies live in notifier.replies."""
import os

from celery import shared_task

from notifier.delivery.dispatch import PERIODIC_QUEUE
from notifier.replies.config import DEFAULTS
from workers.app import celery, flask_app


@shared_task(name="replies.auto_remind")
def auto_remind():
    """Remind non-responders of notices whose deadline is near (when the admin turned it on)."""
    from notifier.replies.reminders import auto_remind as remind_due

    return remind_due()


@shared_task(name="replies.catch_up")
def catch_up():
    """Store the texts the gateway received that the inbound webhook never brought."""
    from notifier.replies.catch_up import catch_up as catch_up_once

    return catch_up_once()


def _every(name):
    return float(flask_app.config.get(name) or os.environ.get(name) or DEFAULTS[name])


for _name, _task, _setting in (("replies-auto-remind", "replies.auto_remind", "REPLY_REMIND_SECONDS"),
                               ("replies-catch-up", "replies.catch_up", "REPLY_CATCHUP_SECONDS")):
    celery.conf.beat_schedule[_name] = {"task": _task, "schedule": _every(_setting),
                                        "options": {"queue": PERIODIC_QUEUE, "expires": _every(_setting)}}
