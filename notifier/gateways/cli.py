"""Gateway commands: `notifier cmpp` (the CMPP connector process)."""
import logging

import click
from flask.cli import with_appcontext


@click.command("cmpp")
@with_appcontext
def cmpp_command():
    """Hold the CMPP session to the ISMG and send the texts routed to it (until SIGTERM)."""
    from flask import current_app

    from notifier.gateways.cmpp.connector import run
    from notifier.ops import logs

    logging.basicConfig(level=logging.INFO)
    logs.configure(current_app.config["LOG_FORMAT"], process_name="cmpp")
    try:
        run(current_app._get_current_object())
    except RuntimeError as exc:  # settings missing
        raise click.ClickException(str(exc)) from None
