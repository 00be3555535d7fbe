"""Webhook requests are kept before they are answered.

    result = inbox.accept("twilio.status", {"message_id": 7, "form": {...}})

`accept` runs the request's handler at once (the handler commits) and returns its result. When
that fails (the database is away, or anything else) it rolls back, writes the request to the
local spool (WEBHOOK_SPOOL_DIR, see spool.py) and returns SPOOLED. Either way the request is kept
and the webhook answers 200; the gateway never has to send it again. Spooled requests are handled
when the database is back: by a drainer thread in each web process (every
WEBHOOK_DRAIN_INTERVAL_SECONDS) and by `notifier webhooks drain`. Handlers are idempotent
(statuses only move forward, an inbound text is stored once per MessageSid), so a request
handled twice changes nothing.
"""
import logging
import os
import threading
from datetime import datetime

from flask import current_app
from sqlalchemy import exc as sa_exc

from notifier.delivery.spool import Spool, Unavailable
from notifier.extensions import db
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
SPOOLED = "spooled"
_handlers = {}
_start_lock = threading.Lock()


def handler(kind):
    """Register fn(entry) as the handler of `kind`; `entry` has "received_at" and the payload."""

    def register(fn):
        _handlers[kind] = fn
        return fn

    return register


def received_at(entry):
    return datetime.fromisoformat(entry["received_at"])


def spool(app=None):
    app = app or current_app
    return Spool(app.config.get("WEBHOOK_SPOOL_DIR") or os.path.join(app.instance_path, "webhook-spool"))


def accept(kind, payload):
    """Handle a webhook request now, or keep it for later. Returns the handler's result or SPOOLED."""
    entry = {"kind": kind, "received_at": utcnow().isoformat(), **payload}
    try:
        return _handlers[kind](entry)
    except Exception as exc:  # noqa: BLE001  (whatever went wrong, the request must not be lost)
        _rollback()
        if _database_away(exc):
            log.warning("webhook %s kept in the spool: the database is unavailable (%s)", kind, type(exc).__name__)
        else:
            log.exception("webhook %s kept in the spool: handling it failed", kind)
        spool().put(entry)
        return SPOOLED


def process(entry):
    """Handle one spooled entry; the database's absence is Unavailable (the entry waits)."""
    try:
        _handlers[entry["kind"]](entry)
    except Exception as exc:
        _rollback()
        if _database_away(exc):
            raise Unavailable(type(exc).__name__) from exc
        raise


def drain(app=None):
    """Handle what is in this host's spool. Returns counts (see Spool.drain)."""
    return spool(app).drain(process)


def _database_away(exc):
    return (isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError))
            or bool(getattr(exc, "connection_invalidated", False)))


def _rollback():
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (a dead connection: the session is discarded anyway)
        log.debug("rollback failed", exc_info=True)


# --- the drainer in each web process ---------------------------------------------------------------

class Drainer(threading.Thread):
    def __init__(self, app, interval):
        super().__init__(name="webhook-drainer", daemon=True)
        self.app, self.interval, self.pid = app, interval, os.getpid()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(self.interval):
            try:
                with self.app.app_context():
                    if spool(self.app).names():
                        counts = drain(self.app)
                        if counts["done"] or counts["failed"]:
                            log.info("webhook spool drained: %s", counts)
            except Exception:  # noqa: BLE001  (the thread must outlive a bad pass)
                log.exception("webhook drainer pass failed")

    def stop(self):
        self.stopping.set()


def ensure_drainer(app):
    """Start the app's drainer thread in this process unless it runs (gunicorn forks workers
    after import, so the check is per process). WEBHOOK_DRAIN_INTERVAL_SECONDS=0: none."""
    interval = float(app.config.get("WEBHOOK_DRAIN_INTERVAL_SECONDS") or 0)
    running = app.extensions.get("webhook_drainer")
    if interval <= 0 or (running is not None and running.pid == os.getpid() and running.is_alive()):
        return running
    with _start_lock:
        running = app.extensions.get("webhook_drainer")
        if running is None or running.pid != os.getpid() or not running.is_alive():
            running = app.extensions["webhook_drainer"] = Drainer(app, interval)
            running.start()
    return running
