"""gunicorn settings: `gunicorn -c config/gunicorn.py 'notifier.wsgi:app'`."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = 30
# Webhooks and the UI sit behind a proxy: trust X-Forwarded-* only from it.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
# Never log query strings of webhook calls with secrets; Twilio puts none there, ours holds only ids.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
