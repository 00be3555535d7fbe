"""Notice settings from the app config, else the environment, else a default (they live here
rather than in config/ so this package stays self-contained)."""
import os

from flask import current_app

DEFAULTS = {
    "NOTICE_MAX_SEGMENTS": 10,  # a longer text cannot be submitted
    "NOTICE_DISPATCH_CHUNK": 1000,  # message rows per INSERT during dispatch
    "NOTICE_TICK_SECONDS": 5.0,  # beat: scheduled notices, completion, lost dispatches
    "NOTICE_DISPATCH_STALE_SECONDS": 300,  # a dispatch started this long ago and unfinished is resumed
}


def conf(name):
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name) or DEFAULTS[name]
    return type(DEFAULTS[name])(value)
