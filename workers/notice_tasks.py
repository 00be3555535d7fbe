"""Thin notice tasks (issue 4): the bodies live in notifier.notices.dispatch."""
import os

from celery import shared_task

from notifier.delivery.dispatch import PERIODIC_QUEUE
from notifier.notices.config import DEFAULTS
from workers.app import celery, flask_app


@shared_task(name="notices.dispatch")
def dispatch(notice_id):
    """Write and queue the messages of an approved notice."""
    from notifier.notices.dispatch import dispatch_notice

    return dispatch_notice(notice_id)


@shared_task(name="notices.tick")
def tick():
    """Start due scheduled notices, complete finished ones, re-ask for lost dispatches."""
    from notifier.notices.dispatch import tick as tick_once

    summary = tick_once()
    return {k: v for k, v in summary.items() if v}


_every = float(flask_app.config.get("NOTICE_TICK_SECONDS") or os.environ.get("NOTICE_TICK_SECONDS")
               or DEFAULTS["NOTICE_TICK_SECONDS"])
celery.conf.beat_schedule["notices-tick"] = {
    "task": "notices.tick",
    "schedule": _every,
    "options": {"queue": PERIODIC_QUEUE, "expires": _every},
}
