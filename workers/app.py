from celery import Celery, Task

from notifier import create_app


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
        # Redis redelivers unacknowledged tasks after this; keep every countdown well below it.
        "broker_transport_options": {"visibility_timeout": 3600},
        "timezone": config["TIMEZONE"],
        "enable_utc": True,
        "task_default_queue": "periodic",
    }


flask_app = create_app()
celery = celery_init_app(flask_app)
