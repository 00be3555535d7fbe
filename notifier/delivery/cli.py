"""`notifier delivery status`: queue depths, messages by status, the limiter's rate."""
import json

import click
from flask.cli import with_appcontext

delivery = click.Group("delivery", help="Outbound SMS delivery.")


@delivery.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@with_appcontext
def status(as_json):
    """Show queue depths, messages by status and the limiter's rate."""
    from notifier.delivery.stats import delivery_status

    data = delivery_status()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo("messages by status:")
    for name, n in data["messages"].items():
        click.echo(f"  {name:<12} {n}")
    click.echo(f"  {'total':<12} {data['total']}")
    click.echo("queues:")
    for name, n in data["queues"].items():
        click.echo(f"  {name:<12} {n}")
    limiter = data["limiter"]
    click.echo(f"limiter: {limiter['limit']:g} {limiter['unit']} per sender")
    for sender, numbers in limiter["senders"].items():
        click.echo(f"  {sender}: measured {numbers['measured_rate']:.2f}/s, next free in {numbers['next_free_in']:.2f}s")
    if "error" in limiter:
        click.echo(f"  ({limiter['error']})")


@delivery.command("sweep")
@with_appcontext
def sweep_now():
    """Run one pass of the sweeper now (re-queue stuck messages, reconcile, poll receipts)."""
    from notifier.delivery.reconcile import sweep

    click.echo(json.dumps(sweep()))


webhooks = click.Group("webhooks", help="Webhook requests kept while the database was unavailable.")


@webhooks.command("drain")
@click.option("--retry-failed", is_flag=True, help="First put back the entries that failed before.")
@with_appcontext
def drain_now(retry_failed):
    """Handle the webhook requests waiting in this host's spool (WEBHOOK_SPOOL_DIR)."""
    from notifier.delivery import inbox

    box = inbox.spool()
    if retry_failed:
        click.echo(f"put back {box.retry_failed()} failed entries")
    counts = inbox.drain()
    click.echo(json.dumps(counts))
    if counts["left"]:
        raise click.ClickException(f"the database is unavailable: {counts['left']} entries still wait in {box.directory}")


@webhooks.command("status")
@with_appcontext
def spool_status():
    """How many webhook requests wait in this host's spool, and how many failed."""
    from notifier.delivery import inbox

    box = inbox.spool()
    click.echo(json.dumps({"directory": box.directory, "waiting": len(box.names()), "failed": len(box.failed_names())}))
