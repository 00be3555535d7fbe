"""Thin tasks: each one calls a plain function in the domain packages."""
from celery import shared_task


@shared_task(name="health.ping", ignore_result=False)
def ping():
    """A trivial task to check that a worker is consuming: returns "pong"."""
    return "pong"


# --- delivery (issue 3): ids only; the bodies live in notifier.delivery ---------------------------

@shared_task(name="delivery.send")
def send(message_ids):
    """Send the still-queued messages among `message_ids` (a batch, sent concurrently)."""
    from notifier.delivery.sending import deliver

    return deliver(message_ids)


@shared_task(name="delivery.reconcile")
def reconcile(message_id):
    """Settle a message left in `sending` with the gateway: adopt it, or send it again."""
    from notifier.delivery.reconcile import reconcile as reconcile_message

    return reconcile_message(message_id)


@shared_task(name="delivery.poll_receipt")
def poll_receipt(message_id):
    """Ask the gateway for the final status of a message that got no receipt."""
    from notifier.delivery.receipts import poll_receipt as poll

    return poll(message_id)


@shared_task(name="delivery.sweep")
def sweep():
    """The periodic sweeper: re-queue what is stuck, reconcile, poll receipts, purge old logs."""
    from notifier.delivery.reconcile import sweep as sweep_once

    return sweep_once()
