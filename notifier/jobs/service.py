"""Start, run, watch and sweep background jobs.

The row is the truth: `start` writes it and queues a task by name carrying its id (the broker
seam of notifier.delivery.dispatch, so the domain never imports `workers`). `run` claims it with a
conditional UPDATE, calls the kind's runner and stores what it produced. Progress is written every
few thousand rows on a connection of its own (never in the runner's transaction) and doubles as
the heartbeat; `sweep` takes up a job whose heartbeat stopped (its worker died) once more, or
marks it failed, and removes result files past their retention.

A runner is `fn(job, progress) -> JobOutcome`; `progress(done, total=None, stage=None)`. It may
raise JobError with a message for the owner; anything else fails the job with a general message
(the details go to the worker's log, not to the page).
"""
import importlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, update

from notifier.delivery.dispatch import JOBS_QUEUE
from notifier.extensions import db
from notifier.jobs.models import DONE, FAILED, FINAL, QUEUED, RUNNING, Job
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)

RUN_TASK = "jobs.run"
SWEEP_TASK = "jobs.sweep"
# kind -> "module:function" of its runner (imported when a job of that kind runs: no import cycle).
RUNNERS = {
    "roster.import": "notifier.roster.jobs:run_import",
    "roster.export": "notifier.roster.jobs:run_export",
    "reports.export": "notifier.reports.jobs:run_export",
}
DEFAULTS = {
    "JOB_STALE_SECONDS": 300,  # a running job with no progress for this long lost its worker
    "JOB_MAX_ATTEMPTS": 2,  # runs of one job before it is marked failed
    "JOB_RETENTION_HOURS": 24,  # result files are removed this long after the job finished
    "JOB_SWEEP_SECONDS": 60,
    "JOB_PROGRESS_EVERY": 5000,  # rows between progress writes
}


class JobError(Exception):
    """A job cannot finish for a reason its owner should read (a bad file, nothing to export)."""


@dataclass
class JobOutcome:
    result: dict = field(default_factory=dict)
    file_name: str | None = None  # the download's name; the file itself is job_file(job)
    has_file: bool = False


def conf(name):
    value = current_app.config.get(name)
    return type(DEFAULTS[name])(value) if value not in (None, "") else DEFAULTS[name]


def jobs_dir():
    """Where inputs and results wait (default <instance>/jobs): the web and the workers must share it."""
    path = current_app.config.get("JOBS_DIR") or os.path.join(current_app.instance_path, "jobs")
    os.makedirs(path, exist_ok=True)
    return path


def new_file_name(suffix=""):
    return secrets.token_hex(16) + suffix


def file_path(name):
    return os.path.join(jobs_dir(), os.path.basename(name))


def _remove(name):
    if not name:
        return
    for path in (file_path(name), file_path(name) + ".part"):  # and a half-written result
        try:
            os.remove(path)
        except OSError:
            pass  # gone already


def create(kind, owner, params=None, total=0, locale=""):
    """The job's row, queued (committed, then its task is sent)."""
    if kind not in RUNNERS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, owner_id=getattr(owner, "id", owner), params=params or {}, total=total or 0,
              locale=str(locale or ""), status=QUEUED)
    db.session.add(job)
    db.session.commit()
    queue(job.id)
    return job


def queue(job_id):
    from notifier.delivery.dispatch import send_task

    return send_task(RUN_TASK, [job_id], JOBS_QUEUE)


def _claim(job_id):
    """queued -> running, once (a redelivered task finds it running and leaves it)."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, Job.status == QUEUED)
        .values(status=RUNNING, attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, error=None)
    ).rowcount
    db.session.commit()
    return claimed == 1


def progress_writer(job_id, every=None):
    """progress(done, total=None, stage=None): writes at most every `every` rows (and at a new stage
    or total), on its own connection, so it is seen at once and never commits the runner's work."""
    every = every or conf("JOB_PROGRESS_EVERY")
    last = {"done": None, "stage": None, "total": None}

    def progress(done, total=None, stage=None, force=False):
        if not force and last["done"] is not None and stage == last["stage"] and total == last["total"] \
                and done - last["done"] < every:
            return
        values = {"done": int(done), "heartbeat_at": utcnow()}
        if total is not None:
            values["total"] = int(total)
        if stage is not None:
            values["stage"] = stage
        try:
            with db.engine.begin() as conn:
                sqlite = conn.dialect.name == "sqlite"
                if sqlite:  # the runner's transaction may hold the file's lock: skip, do not wait
                    conn.exec_driver_sql("PRAGMA busy_timeout = 50")
                try:
                    conn.execute(update(Job).where(Job.id == job_id, Job.status == RUNNING).values(**values))
                finally:
                    if sqlite:
                        conn.exec_driver_sql("PRAGMA busy_timeout = 5000")
        except Exception:  # noqa: BLE001  (progress is a courtesy: never fail the work over it)
            log.warning("job %s: progress not written", job_id, exc_info=True)
        last.update(done=done, stage=stage, total=total)

    return progress


def _runner(kind):
    module, name = RUNNERS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def run(job_id):
    """Run a queued job (the task's body). Returns its final status, or None if it was not ours."""
    if not _claim(job_id):
        return None
    job = db.session.get(Job, job_id)
    progress = progress_writer(job_id)
    try:
        with force_locale(job.locale or current_app.config["DEFAULT_LOCALE"]):
            outcome = _runner(job.kind)(job, progress)
    except JobError as exc:
        db.session.rollback()
        return _fail(job_id, str(exc))
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        with force_locale(job.locale or current_app.config["DEFAULT_LOCALE"]):
            return _fail(job_id, _("The job stopped because of an unexpected error. Try again; if it happens "
                                   "again, tell the administrator (job %(id)d).", id=job_id))
    job = db.session.get(Job, job_id)
    db.session.refresh(job)  # progress was written on another connection
    job.status, job.finished_at, job.heartbeat_at = DONE, utcnow(), utcnow()
    job.done = max(job.done, job.total)
    job.result = outcome.result
    if outcome.has_file:
        job.file_name, job.file_path = outcome.file_name, job.params.get("output")
    db.session.commit()
    _remove(job.params.get("input"))
    return DONE


def _fail(job_id, message):
    job = db.session.get(Job, job_id)
    job.status, job.error, job.finished_at = FAILED, message, utcnow()
    db.session.commit()
    _remove(job.params.get("input"))
    _remove(job.params.get("output"))
    return FAILED


def output_name(job, suffix):
    """The result file's name for `job` (remembered in its params, so a rerun writes the same file)."""
    name = job.params.get("output")
    if not name:
        name = new_file_name(suffix)
        job.params = {**job.params, "output": name}
        db.session.commit()
    return name


def visible_to(job, user):
    """Only the owner, and administrators, see a job, its progress and its file."""
    return job is not None and user is not None and (job.owner_id == user.id or user.can("admin"))


def status(job):
    """The job as the progress endpoint answers it."""
    total = job.total or 0
    percent = 100 if job.status == DONE else (min(99, int(job.done * 100 / total)) if total else 0)
    return {"id": job.id, "kind": job.kind, "status": job.status, "status_label": str(job.status_label),
            "stage": job.stage, "done": job.done, "total": total, "percent": percent, "error": job.error,
            "finished": job.status in FINAL, "has_file": bool(job.file_path), "result": job.result,
            "count_label": _("%(done)s of %(total)s rows", done=job.done, total=total) if total else ""}


def sweep():
    """Take up jobs whose worker is gone, re-send queued jobs the broker lost, remove old files."""
    now = utcnow()
    stale = now - timedelta(seconds=conf("JOB_STALE_SECONDS"))
    summary = {"requeued": 0, "failed": 0, "resent": 0, "removed": 0}
    lost = db.session.scalars(db.select(Job).where(Job.status == RUNNING, or_(
        Job.heartbeat_at.is_(None), Job.heartbeat_at < stale))).all()
    for job in lost:
        if job.attempts < conf("JOB_MAX_ATTEMPTS"):
            claimed = db.session.execute(update(Job).where(Job.id == job.id, Job.status == RUNNING,
                                                           Job.heartbeat_at == job.heartbeat_at)
                                         .values(status=QUEUED, done=0)).rowcount
            db.session.commit()
            if claimed:
                queue(job.id)
                summary["requeued"] += 1
        else:
            with force_locale(job.locale or current_app.config["DEFAULT_LOCALE"]):
                message = _("The job was interrupted (its worker stopped) and was not finished. Start it again.")
            claimed = db.session.execute(update(Job).where(Job.id == job.id, Job.status == RUNNING,
                                                           Job.heartbeat_at == job.heartbeat_at)
                                         .values(status=FAILED, error=message, finished_at=now)).rowcount
            db.session.commit()
            if claimed:
                _remove(job.params.get("input"))
                _remove(job.params.get("output"))
                summary["failed"] += 1
    # Queued long ago and never started: the task was lost with the broker. Send it again.
    for job_id in db.session.scalars(db.select(Job.id).where(Job.status == QUEUED, Job.created_at < stale)):
        queue(job_id)
        summary["resent"] += 1
    cutoff = now - timedelta(hours=conf("JOB_RETENTION_HOURS"))
    old = db.session.scalars(db.select(Job).where(Job.status.in_(FINAL), Job.finished_at < cutoff,
                                                  and_(Job.file_path.is_not(None)))).all()
    for job in old:
        _remove(job.file_path)
        _remove(job.params.get("input"))
        job.file_path = None
        summary["removed"] += 1
    db.session.commit()
    return summary
