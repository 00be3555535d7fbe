"""`python -m notifier.simulator.cmpp` and `notifier simulator --cmpp`: the ISMG simulator."""
import logging

import click

from ..config import set_options
from .config import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SECRET, DEFAULT_SP_ID, DEFAULT_SRC_ID


@click.command("cmpp-simulator")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="CMPP port (0: any free one).")
@click.option("--control-port", default=None, type=int, help="HTTP control API port [CMPP port + 1].")
@click.option("--sp-id", default=DEFAULT_SP_ID, show_default=True, help="The SP's Source_Addr.")
@click.option("--secret", "shared_secret", default=DEFAULT_SECRET, show_default=True)
@click.option("--src-id", default=DEFAULT_SRC_ID, show_default=True, help="The SP's access number.")
@click.option("--latency-ms", default="0", show_default=True, help="Per SUBMIT: N or LOW-HIGH ms.")
@click.option("--window", default=16, show_default=True, type=int, help="Unanswered SUBMITs allowed.")
@click.option("--rate-cap", default=0.0, type=float, help="SUBMITs per second before Result 8 (0: none).")
@click.option("--seed", default=None, type=int, help="Random seed, for repeatable faults.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Any other setting (see config.py), e.g. --set drop_after=100.")
@click.option("--quiet", is_flag=True, help="Warnings only.")
def cmpp_simulator(host, port, control_port, settings, quiet, **options):
    """Run a simulated China Mobile ISMG speaking CMPP 2.0 (status reports, deputies replying,
    fault injection), with an HTTP control API under /_sim/."""
    from .server import run

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = {k: v for k, v in options.items() if v is not None}
    try:
        run(host=host, port=port, control_port=control_port,
            announce=lambda line: click.echo(line), **options, **set_options(settings))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
