"""Report settings from the app config, else the environment, else a default."""
import os

from flask import current_app

DEFAULTS = {
    "REPORTS_RETENTION_DAYS": 180,  # message bodies and gateway exchanges older than this are purged
    "REPORTS_RETENTION_INTERVAL_SECONDS": 3600.0,  # how often beat rolls up and purges
    "REPORTS_PAGE_SIZE": 50,  # rows per page of the message log
    "REPORTS_EXPORT_BATCH": 2000,  # rows read per query while exporting (bounded memory)
}


def conf(name):
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name) or DEFAULTS[name]
    return type(DEFAULTS[name])(value)
