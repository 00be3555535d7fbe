"""`notifier simulator --aliyun` and `python -m notifier.simulator.aliyun`: the Dysmsapi simulator."""
import logging

import click

from ..config import set_options
from .config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_HOST, DEFAULT_PORT


@click.command("aliyun-simulator")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--access-key-id", default=DEFAULT_ACCESS_KEY_ID, show_default=True)
@click.option("--access-key-secret", default=DEFAULT_ACCESS_KEY_SECRET, show_default=True)
@click.option("--report-url", default="", help="Where receipts are pushed (…/webhooks/aliyun/TOKEN/report).")
@click.option("--up-url", default="", help="Where replies are pushed (…/webhooks/aliyun/TOKEN/up).")
@click.option("--latency-ms", default="0", show_default=True, help="Per call: N or LOW-HIGH milliseconds.")
@click.option("--seed", default=None, type=int, help="Random seed, for repeatable faults.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Any other setting (see config.py), e.g. --set throttle_rate=0.1.")
@click.option("--quiet", is_flag=True, help="No access log line per request.")
def aliyun_simulator(host, port, settings, quiet, **options):
    """Run a simulated Aliyun SMS (Dysmsapi 2017-05-25): SendSms, SendBatchSms, QuerySendDetails,
    receipts and replies pushed as JSON arrays, fault injection; control API under /_sim/."""
    from .server import AliyunSimulatorServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = AliyunSimulatorServer(host=host, port=port, access_log=not quiet, **options, **set_options(settings))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    click.echo(f"Aliyun SMS simulator on {server.url}  AccessKey {server.access_key_id} / {server.access_key_secret}")
    click.echo(f"control: {server.url}/_sim/config /_sim/messages /_sim/reply /_sim/stats /_sim/reset  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
