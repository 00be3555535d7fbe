"""Thin tasks: each one calls a plain function in the domain packages."""
from celery import shared_task


@shared_task(name="health.ping", queue="periodic", ignore_result=False)
def ping():
    """A trivial task to check that a worker is consuming: returns "pong"."""
    return "pong"
