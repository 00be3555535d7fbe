"""`notifier simulator`: serve the Twilio simulator in the foreground."""

import logging

import click

from .config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_HOST, DEFAULT_PORT


@click.command("simulator")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--latency-ms", default="0", show_default=True, help="Per request: N or LOW-HIGH milliseconds."
)
@click.option(
    "--rate-cap", default=0.0, type=float, help="Messages per second before HTTP 429 (0: none)."
)
@click.option(
    "--fail-rate", default=0.0, type=float, help="Share of create calls answered HTTP 500."
)
@click.option(
    "--fail-accepts/--fail-rejects",
    default=False,
    show_default=True,
    help="Whether a failed (500) create call still accepts its message.",
)
@click.option(
    "--hang-rate",
    default=0.0,
    type=float,
    help="Share of create calls answered only after --hang-seconds.",
)
@click.option("--hang-seconds", default=30.0, type=float, show_default=True)
@click.option(
    "--hang-accepts/--hang-rejects",
    default=True,
    show_default=True,
    help="Whether a hung create call still accepts its message.",
)
@click.option(
    "--undelivered-rate", default=0.0, type=float, help="Share of messages ending undelivered."
)
@click.option("--invalid-numbers", default="", help="Comma-separated numbers refused with 21211.")
@click.option("--opted-out-numbers", default="", help="Comma-separated numbers refused with 21610.")
@click.option(
    "--not-mobile-numbers", default="", help="Comma-separated numbers refused with 21614."
)
@click.option(
    "--undelivered-numbers",
    default="",
    help="Comma-separated numbers that end undelivered (30003).",
)
@click.option(
    "--sent-after-ms",
    default="100",
    show_default=True,
    help="Delay queued -> sent (N or LOW-HIGH).",
)
@click.option(
    "--final-after-ms",
    default="400",
    show_default=True,
    help="Delay sent -> delivered/undelivered.",
)
@click.option(
    "--callback-statuses",
    default="queued,sent,delivered,undelivered,failed",
    show_default=True,
    help="Status changes posted to StatusCallback URLs.",
)
@click.option("--account-sid", default=DEFAULT_ACCOUNT_SID, show_default=True)
@click.option("--auth-token", default=DEFAULT_AUTH_TOKEN, show_default=True)
@click.option(
    "--seed", default=None, type=int, help="Random seed, for repeatable failure injection."
)
@click.option("--quiet", is_flag=True, help="No access log line per request.")
@click.option(
    "--cmpp", is_flag=True, help="Run the CMPP 2.0 ISMG simulator instead (port 7890 by default)."
)
@click.option(
    "--aliyun", is_flag=True, help="Run the Aliyun SMS (Dysmsapi) simulator instead (port 8766 by default)."
)
def simulator(host, port, quiet, cmpp, aliyun, **options):
    """Run the local Twilio-compatible SMS gateway (Messages API, status callbacks, fault injection)."""
    if aliyun:
        from .aliyun.cli import aliyun_simulator
        from .aliyun.config import DEFAULT_PORT as ALIYUN_PORT

        ctx = click.get_current_context()
        if ctx.get_parameter_source("port") == click.core.ParameterSource.DEFAULT:
            port = ALIYUN_PORT
        return ctx.invoke(aliyun_simulator, host=host, port=port, quiet=quiet)
    if cmpp:
        from .cmpp.cli import DEFAULT_PORT as CMPP_PORT
        from .cmpp.cli import cmpp_simulator

        ctx = click.get_current_context()
        if ctx.get_parameter_source("port") == click.core.ParameterSource.DEFAULT:
            port = CMPP_PORT
        return ctx.invoke(cmpp_simulator, host=host, port=port, quiet=quiet)
    from .server import SimulatorServer

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        server = SimulatorServer(host=host, port=port, access_log=not quiet, **options)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    click.echo(
        f"Twilio simulator on {server.url}  account {server.account_sid}  token {server.auth_token}"
    )
    click.echo(
        f"control: {server.url}/_sim/config /_sim/messages /_sim/stats /_sim/reset  (Ctrl-C stops)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
