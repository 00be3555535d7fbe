"""`notifier audit verify` (exit 1 when the chain is broken) and `notifier audit purge`."""
import click
from flask import current_app
from flask.cli import with_appcontext

audit = click.Group("audit", help="The audit trail: check its chain, purge past the retention.")


@audit.command("verify")
@with_appcontext
def verify_command():
    """Check every audit row against the one before it. Prints the head hash (keep it somewhere
    else, e.g. in the operations log: rows cut off the end are found by comparing with it)."""
    from notifier.audit.chain import verify
    from notifier.extensions import db

    checked, head, breaks = verify(db.session)
    for problem in breaks[:50]:
        click.echo(f"BROKEN {problem}", err=True)
    click.echo(f"{checked} rows checked; head {head or '-'}")
    if breaks:
        raise SystemExit(1)


@audit.command("purge")
@with_appcontext
def purge_command():
    """Delete audit rows older than AUDIT_RETENTION_DAYS (never under 180 days)."""
    from notifier.audit.chain import purge
    from notifier.extensions import db

    deleted = purge(db.session, current_app.config["AUDIT_RETENTION_DAYS"])
    click.echo(f"{deleted} audit rows older than {current_app.config['AUDIT_RETENTION_DAYS']} days deleted")
