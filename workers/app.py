import sys

from celery import Celery, Task
from kombu import Queue

from notifier import create_app
from notifier.delivery.dispatch import PERIODIC_QUEUE, QUEUES, SWEEP_TASK, TASK_ROUTES
from notifier.settings_check import SettingsError


def celery_init_app(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def celery_settings(config):
    return {
        "broker_url": config["REDIS_URL"],
        "result_backend": config["REDIS_URL"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # Redis redelivers unacknowledged tasks after this; keep every countdown well below it
        # (retries are capped at SMS_RETRY_MAX_SECONDS, deferrals at a few seconds).
        "broker_transport_options": {"visibility_timeout": config["BROKER_VISIBILITY_TIMEOUT"]},
        "timezone": config["TIMEZONE"],
        "enable_utc": True,
        # Queues by purpose; a worker started without -Q consumes all of them.
        "task_queues": [Queue(name) for name in QUEUES],
        "task_default_queue": PERIODIC_QUEUE,
        "task_routes": TASK_ROUTES,
        "task_create_missing_queues": True,
        # Processes: each send task drives its batch of 100 on its own event loop, so a process
        # needs no threads to wait on the gateway; eight threads in one process spent half their
        # CPU fighting over one interpreter lock and left the second core idle (bench/delivery_bench.py).
        # Two per core keeps a batch on the wire while another is claimed or recorded.
        "worker_pool": config["CELERY_WORKER_POOL"],
        "worker_concurrency": config["CELERY_WORKER_CONCURRENCY"],
        "beat_schedule": {
            "delivery-sweep": {
                "task": SWEEP_TASK,
                "schedule": float(config["SMS_SWEEP_INTERVAL_SECONDS"]),
                "options": {"queue": PERIODIC_QUEUE, "expires": float(config["SMS_SWEEP_INTERVAL_SECONDS"])},
            },
        },
    }


try:
    flask_app = create_app()
except SettingsError as exc:  # a worker or beat with bad settings stops here, saying which
    sys.exit(f"celery: {exc}")
celery = celery_init_app(flask_app)


# LOG_FORMAT=json: Celery sets up its own handlers; give them the platform's format, and stamp
# each task's log lines with the notice and message ids it works on.
from celery import signals  # noqa: E402


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _format_logs(logger, *args, **kwargs):
    from notifier.ops import logs

    logs.configure(flask_app.config["LOG_FORMAT"], handlers=logger.handlers, process_name="worker")


@signals.worker_process_init.connect
def _own_connections(**extra):
    """A forked pool process must not share the parent's database connections (the parent
    may have opened some at start-up); Redis clients see the new pid and reconnect by themselves."""
    from notifier.extensions import db

    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


@signals.task_prerun.connect
def _task_ids(task=None, args=None, kwargs=None, **extra):
    from notifier.ops import logs

    logs.clear_ids()
    logs.set_ids(**task_ids(task.name if task else "", args or (), kwargs or {}))


@signals.task_postrun.connect
def _end_task_ids(**extra):
    from notifier.ops import logs

    logs.clear_ids()


def task_ids(name, args, kwargs):
    """The ids a task works on, from its arguments (tasks carry ids only)."""
    first = args[0] if args else None
    ids = {key: kwargs[key] for key in ("notice_id", "message_id", "message_ids") if key in kwargs}
    if name.startswith("notices.") and isinstance(first, int):
        ids.setdefault("notice_id", first)
    elif isinstance(first, list | tuple):
        ids.setdefault("message_ids", list(first)[:50])
    elif name.startswith(("delivery.", "replies.")) and isinstance(first, int):
        ids.setdefault("message_id", first)
    return ids
