"""The `notifier` console script: a Flask CLI group (`notifier db upgrade`, `notifier users ...`)."""
import click
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from notifier import create_app
    from notifier.settings_check import SettingsError

    try:
        return create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main():
    """人大短信平台 (deputy SMS platform) command line."""


users = click.Group("users", help="Staff accounts and API tokens.")


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "approver", "composer", "viewer", "security_admin", "auditor"]),
              required=True)
@click.option("--password", default=None, help="Default: a random one, printed once.")
@click.option("--display-name", default="", help="Name shown in the UI (default: NAME).")
@click.option("--must-change/--no-must-change", default=False,
              help="The user must choose a new password at the first login.")
@with_appcontext
def users_create(name, role, password, display_name, must_change):
    """Create a staff user. The password must meet the policy (length, character classes, not
    the username)."""
    from notifier.accounts.service import AccountError, create_user

    try:
        user, password_used = create_user(name, role, password=password, display_name=display_name,
                                          must_change=must_change)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.username} ({user.role})")
    if not password:
        click.echo(f"password: {password_used}")


@users.command("token")
@click.argument("name")
@click.option("--label", default="cli", help="A name for the token, shown in the UI.")
@with_appcontext
def users_token(name, label):
    """Issue a new API token for NAME and print it (it is shown only once)."""
    from notifier.accounts.service import find_user, issue_token

    user = find_user(name)
    if user is None:
        raise click.ClickException(f"no user {name!r}")
    _, plaintext = issue_token(user, name=label)
    click.echo(plaintext)


@users.command("totp")
@click.argument("name")
@with_appcontext
def users_totp(name):
    """(Re)issue NAME's two-factor secret and print its otpauth URI (for the authenticator app)
    and new recovery codes. The old secret and codes stop working at once."""
    from notifier.accounts import totp
    from notifier.accounts.service import find_user

    user = find_user(name)
    if user is None:
        raise click.ClickException(f"no user {name!r}")
    uri, codes = totp.reissue(user)
    click.echo(uri)
    click.echo("recovery codes: " + " ".join(codes))


@users.command("unlock")
@click.argument("name")
@with_appcontext
def users_unlock(name):
    """Unlock NAME's account after repeated failed logins (audited)."""
    from notifier.accounts import lockout
    from notifier.accounts.service import find_user

    user = find_user(name)
    if user is None:
        raise click.ClickException(f"no user {name!r}")
    lockout.unlock(user, actor="cli")
    click.echo(f"unlocked {user.username}")


def register_commands(app):
    app.cli.add_command(users)
    from notifier.roster.cli import roster

    app.cli.add_command(roster)
    from notifier.notices.cli import templates_group  # issue 12: Aliyun templates

    app.cli.add_command(templates_group)
    from notifier.delivery.cli import delivery, webhooks

    app.cli.add_command(delivery)
    app.cli.add_command(webhooks)
    from notifier.simulator.cli import simulator

    app.cli.add_command(simulator)
    from notifier.gateways.cli import cmpp_command

    app.cli.add_command(cmpp_command)
    from notifier.audit.cli import audit

    app.cli.add_command(audit)


@click.command("demo")
@click.option("--port", default=5000, show_default=True, help="Web port (another free one is used if taken).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--data-dir", default="demo-data", show_default=True, help="Where the SQLite file and logs go.")
@click.option("--gateway", type=click.Choice(["twilio", "cmpp", "aliyun"]), default="twilio", show_default=True,
              help="The gateway to simulate: Twilio, a China Mobile ISMG over CMPP 2.0 with its connector, or "
                   "Aliyun SMS with its approved templates.")
def demo(port, host, data_dir, gateway):
    """Run the whole platform on embedded defaults: SQLite, an embedded Redis, a gateway
    simulator, a worker, beat and the web app, with demo deputies and printed logins."""
    from notifier.demo import run_demo

    run_demo(data_dir, port, host, gateway=gateway)


# `notifier demo` must not build the app with the caller's environment: it sets up its own.
main.add_command(demo)

if __name__ == "__main__":
    main()
