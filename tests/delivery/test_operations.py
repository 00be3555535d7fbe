"""`notifier delivery status`, the broker settings and the worker's queues."""
import json

from config import Config
from notifier.delivery.outbox import create_messages, enqueue
from notifier.extensions import db


def test_delivery_status_cli(delivery_app, sim):
    with delivery_app.app_context():
        rows = create_messages([{"to": f"+8613800000{i:03d}", "body": "测试"} for i in range(3)])
        enqueue([rows[0].id])
        db.session.remove()
    runner = delivery_app.test_cli_runner()
    result = runner.invoke(args=["delivery", "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["messages"]["pending"] == 2 and data["messages"]["queued"] == 1
    assert data["queues"]["send"] == 1  # one send task, carrying the id
    assert data["limiter"]["senders"]["+15005550006"]["measured_rate"] == 0
    text = runner.invoke(args=["delivery", "status"]).output
    assert "queued" in text and "limiter: 1000 segments/s" in text


def test_countdowns_stay_below_the_visibility_timeout():
    longest = max(Config.SMS_RETRY_MAX_SECONDS, Config.SMS_RECONCILE_DELAY_SECONDS, Config.SMS_RATE_MAX_WAIT * 2)
    assert Config.BROKER_VISIBILITY_TIMEOUT > 5 * longest
    assert Config.SMS_SEND_LEASE_SECONDS > Config.TWILIO_HTTP_TIMEOUT + Config.SMS_RATE_MAX_WAIT
    assert 1 <= Config.SMS_VALIDITY_PERIOD <= 36000


def test_worker_settings(app):
    from workers.app import celery_settings

    settings = celery_settings(app.config)
    assert {q.name for q in settings["task_queues"]} == {"send", "callbacks", "periodic", "jobs"}
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["worker_pool"] == "prefork" and settings["worker_concurrency"] >= 2
    assert settings["beat_schedule"]["delivery-sweep"]["task"] == "delivery.sweep"


def test_tasks_are_routed_to_queues_by_purpose():
    """Routing lives in task_routes (Celery's per-task `queue` attribute is deprecated); a task
    queued without an explicit queue must still land where a split worker consumes it."""
    from workers.app import celery

    expected = {"delivery.send": "send", "delivery.reconcile": "callbacks", "delivery.poll_receipt": "callbacks",
                "delivery.sweep": "periodic", "notices.dispatch": "periodic", "notices.tick": "periodic",
                "replies.auto_remind": "periodic", "replies.catch_up": "periodic", "reports.retention": "periodic",
                "health.ping": "periodic", "jobs.run": "jobs", "jobs.sweep": "periodic"}
    assert set(expected) <= set(celery.tasks)
    router = celery.amqp.router
    assert {name: router.route({}, name)["queue"].name for name in expected} == expected
