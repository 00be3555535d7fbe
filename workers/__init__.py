"""The Celery app, importable as `workers.celery` (`celery -A workers worker`).

Follows Flask's "Background Tasks with Celery" pattern: every task runs inside the Flask app
context, so tasks are thin wrappers around plain domain functions.
"""
from workers import job_tasks, notice_tasks, reply_tasks, report_tasks, tasks  # noqa: F401,E402  (registers the tasks)
from workers.app import celery, flask_app  # noqa: F401
