"""WSGI entry point: `gunicorn 'notifier.wsgi:app'`."""
from notifier import create_app

app = create_app()
