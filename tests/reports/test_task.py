"""The retention task is registered with Celery and scheduled by beat, and its body runs."""


def test_retention_task_is_registered_and_scheduled(app):
    import workers

    assert "reports.retention" in workers.celery.tasks
    entry = workers.celery.conf.beat_schedule["reports-retention"]
    assert entry["task"] == "reports.retention" and entry["schedule"] > 0
    with workers.flask_app.app_context():
        result = workers.celery.tasks["reports.retention"].run()
    assert set(result) >= {"rolled_up", "bodies", "exchanges"}
