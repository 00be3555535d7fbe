"""Thin reply tasks (issue 5): the bodies live in notifier.replies."""
from celery import shared_task

from notifier.delivery.dispatch import PERIODIC_QUEUE
from notifier.replies.config import DEFAULTS
from workers.app import celery, flask_app


@shared_task(name="replies.auto_remind")
def auto_remind():
    """Remind non-responders of notices whose deadline is near (when the admin turned it on)."""
    from notifier.replies.reminders import auto_remind as remind_due

    return remind_due()


_every = float(flask_app.config.get("REPLY_REMIND_SECONDS") or DEFAULTS["REPLY_REMIND_SECONDS"])
celery.conf.beat_schedule["replies-auto-remind"] = {
    "task": "replies.auto_remind",
    "schedule": _every,
    "options": {"queue": PERIODIC_QUEUE, "expires": _every},
}
