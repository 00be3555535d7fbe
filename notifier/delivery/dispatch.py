"""The one seam between delivery code and the broker: tasks are sent by name, carrying ids only.

The domain never imports `workers`; in a worker the Celery app is the one in
`app.extensions["celery"]`, in the web process a light producer on the same broker is built on
first use. Losing what is sent here loses no message: the rows are the truth and the sweeper
queues again whatever should be moving and is not.
"""
import logging

from celery import Celery
from flask import current_app

log = logging.getLogger(__name__)

SEND_QUEUE, CALLBACKS_QUEUE, PERIODIC_QUEUE = "send", "callbacks", "periodic"
JOBS_QUEUE = "jobs"  # long user work (large imports and exports): never in the way of sending
QUEUES = (SEND_QUEUE, CALLBACKS_QUEUE, PERIODIC_QUEUE, JOBS_QUEUE)
SEND_TASK = "delivery.send"
RECONCILE_TASK = "delivery.reconcile"
POLL_RECEIPT_TASK = "delivery.poll_receipt"
SWEEP_TASK = "delivery.sweep"
# Celery's task_routes: sending and the gateway's answers have queues of their own; everything
# else (notices, replies, reports, the sweeper) goes to the default, PERIODIC_QUEUE.
TASK_ROUTES = {SEND_TASK: {"queue": SEND_QUEUE}, RECONCILE_TASK: {"queue": CALLBACKS_QUEUE},
               POLL_RECEIPT_TASK: {"queue": CALLBACKS_QUEUE}, "jobs.run": {"queue": JOBS_QUEUE}}


def celery_app():
    app = current_app._get_current_object()
    celery = app.extensions.get("celery") or app.extensions.get("delivery_producer")
    if celery is None:
        celery = Celery(app.import_name, broker=app.config["REDIS_URL"], set_as_current=False)
        celery.conf.broker_transport_options = {"visibility_timeout": app.config["BROKER_VISIBILITY_TIMEOUT"]}
        celery.conf.broker_connection_retry_on_startup = True
        app.extensions["delivery_producer"] = celery
    return celery


def send_task(name, args, queue, countdown=None):
    """Queue a task; a broker failure is logged, not raised (the sweeper will queue it again)."""
    try:
        celery_app().send_task(name, args=args, queue=queue, countdown=countdown or None)
        return True
    except Exception:  # noqa: BLE001  (kombu/redis errors: the rows stay, the sweeper retries)
        log.exception("could not queue %s %s", name, args)
        return False


def send_messages(message_ids, countdown=None):
    """Queue send tasks for these ids, SEND_BATCH_SIZE ids per task."""
    size = max(1, int(current_app.config["SEND_BATCH_SIZE"]))
    ids = list(message_ids)
    for start in range(0, len(ids), size):
        send_task(SEND_TASK, [ids[start:start + size]], SEND_QUEUE, countdown)


def reconcile_message(message_id, countdown=None):
    send_task(RECONCILE_TASK, [message_id], CALLBACKS_QUEUE, countdown)


def poll_receipt(message_id):
    send_task(POLL_RECEIPT_TASK, [message_id], CALLBACKS_QUEUE)
