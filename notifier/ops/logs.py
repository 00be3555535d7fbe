"""LOG_FORMAT=json: one JSON object per log line (python-json-logger), carrying the notice and
message ids of the work at hand, for the web app, the Celery workers and the `notifier cmpp`
connector alike. The ids come from the context (`log_context`, set by the task signals and per
request) or from a call's own `extra={"notice_id": ...}`. LOG_FORMAT=text (the default) keeps
plain lines."""
import contextlib
import contextvars
import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter

FIELDS = ("notice_id", "message_id", "message_ids")
_context = {name: contextvars.ContextVar(name, default=None) for name in FIELDS}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def log_context(**ids):
    """Within the block, every log line carries these ids (notice_id, message_id, message_ids)."""
    tokens = [(_context[name], _context[name].set(value)) for name, value in ids.items()
              if name in _context and value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def set_ids(**ids):
    """Set ids for the rest of this context (a task, a request); `clear_ids` ends them."""
    for name, value in ids.items():
        if name in _context:
            _context[name].set(value)


def clear_ids():
    for var in _context.values():
        var.set(None)


class ContextFilter(logging.Filter):
    def filter(self, record):
        for name, var in _context.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class PlatformJsonFormatter(JsonFormatter):
    def __init__(self, process_name=None):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         timestamp=False)
        self.process_name = process_name or os.path.basename(sys.argv[0] or "python")

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        log_record["process"] = self.process_name
        log_record["pid"] = record.process
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None:
                log_record.pop(name, None)
            else:
                log_record[name] = value


def formatter(log_format, process_name=None):
    if (log_format or "text").lower() == "json":
        return PlatformJsonFormatter(process_name)
    return logging.Formatter(TEXT_FORMAT)


def configure(log_format, level=logging.INFO, process_name=None, handlers=None):
    """Format every handler of the root logger (one to stderr when there is none) and add the id
    filter. Idempotent."""
    root = logging.getLogger()
    if handlers is None:
        handlers = root.handlers
        if not handlers:
            handler = logging.StreamHandler()
            root.addHandler(handler)
            handlers = [handler]
    for handler in handlers:
        handler.setFormatter(formatter(log_format, process_name))
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
