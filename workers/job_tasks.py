"""Thin background-job tasks (issue 15): the bodies live in notifier.jobs.service."""
from celery import shared_task

from notifier.delivery.dispatch import PERIODIC_QUEUE
from notifier.jobs.service import DEFAULTS, RUN_TASK, SWEEP_TASK
from workers.app import celery, flask_app


@shared_task(name=RUN_TASK)
def run(job_id):
    """Run one queued job (an import, an export) and record how far it got and what it made."""
    from notifier.jobs.service import run as run_job

    return run_job(job_id)


@shared_task(name=SWEEP_TASK)
def sweep():
    """Take up jobs whose worker died, re-send lost ones, remove result files past retention."""
    from notifier.jobs.service import sweep as sweep_once

    return sweep_once()


_every = float(flask_app.config.get("JOB_SWEEP_SECONDS") or DEFAULTS["JOB_SWEEP_SECONDS"])
celery.conf.beat_schedule["jobs-sweep"] = {
    "task": SWEEP_TASK,
    "schedule": _every,
    "options": {"queue": PERIODIC_QUEUE, "expires": _every},
}
