"""Report settings from the app config, else the environment, else a default."""
import os

from flask import current_app

DEFAULTS = {
    "REPORTS_RETENTION_DAYS": 180,  # message bodies and gateway exchanges older than this are purged
    "REPORTS_RETENTION_INTERVAL_SECONDS": 3600.0,  # how often beat rolls up and purges
    "REPORTS_PAGE_SIZE": 50,  # rows per page of the message log
    "REPORTS_EXPORT_BATCH": 2000,  # rows read per query while exporting (bounded memory)
    # An XLSX export of more rows than this is written by a worker (a job with a progress bar):
    # openpyxl writes about 4,000 rows a second, too slow for a request beyond a few thousand.
    "REPORTS_EXPORT_JOB_ROWS": 5000,
}


def conf(name):
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name) or DEFAULTS[name]
    return type(DEFAULTS[name])(value)
