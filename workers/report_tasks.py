"""Thin report tasks (issue 6): the body lives in notifier.reports.retention."""
from celery import shared_task

from notifier.delivery.dispatch import PERIODIC_QUEUE
from notifier.reports.config import DEFAULTS
from workers.app import celery, flask_app


@shared_task(name="reports.retention")
def retention():
    """Roll closed days up into delivery_daily, then purge old bodies, raw callbacks and exchanges."""
    from notifier.reports.retention import run

    return run()


_every = float(flask_app.config.get("REPORTS_RETENTION_INTERVAL_SECONDS")
               or DEFAULTS["REPORTS_RETENTION_INTERVAL_SECONDS"])
celery.conf.beat_schedule["reports-retention"] = {
    "task": "reports.retention",
    "schedule": _every,
    "options": {"queue": PERIODIC_QUEUE, "expires": _every},
}
