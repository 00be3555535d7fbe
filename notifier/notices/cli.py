"""`notifier templates add CODE --gateway aliyun --text TEXT`, `notifier templates list`."""
import sys

import click
from flask.cli import with_appcontext

from notifier.notices.models import TEMPLATE_GATEWAYS

templates_group = click.Group("templates", help="Templates approved at a template-only gateway (Aliyun).")


@templates_group.command("add")
@click.argument("code")
@click.option("--gateway", default="aliyun", show_default=True, type=click.Choice(TEMPLATE_GATEWAYS))
@click.option("--text", required=True, help="The approved text with ${var} variables, without the signature.")
@click.option("--name", default="", help="A name staff recognise it by.")
@click.option("--unapproved", is_flag=True, help="Registered, but not yet approved by the gateway.")
@with_appcontext
def add_command(code, gateway, text, name, unapproved):
    """Register (or correct) template CODE as the gateway approved it."""
    from notifier.notices.templates import TemplateInvalid, add_template

    try:
        template = add_template({"code": code, "gateway": gateway, "text": text, "name": name,
                                 "approved": not unapproved})
    except TemplateInvalid as exc:
        for field, messages in exc.errors.items():
            click.echo(f"{field}: {'; '.join(messages)}", err=True)
        sys.exit(1)
    variables = ", ".join(template.variables) or "-"
    click.echo(f"{template.gateway} {template.code}: {template.text}  (variables: {variables})")


@templates_group.command("list")
@with_appcontext
def list_command():
    """Every registered template."""
    from sqlalchemy import select

    from notifier.extensions import db
    from notifier.notices.models import SmsTemplate

    for template in db.session.scalars(select(SmsTemplate).order_by(SmsTemplate.gateway, SmsTemplate.code)):
        mark = "" if template.approved else " (not approved)"
        click.echo(f"{template.gateway}\t{template.code}\t{template.text}{mark}")
