"""`notifier roster import FILE [--dry-run]`, `notifier roster export FILE`, `notifier roster template FILE`."""
import os
import sys

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

roster = click.Group("roster", help="The deputy roster.")


def _fail(message):
    click.echo(message, err=True)
    sys.exit(1)


def _format_for(path):
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in ("xlsx", "csv"):
        _fail(_("Name the file .xlsx or .csv (the format follows the extension): %(path)s", path=path))
    return extension


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@with_appcontext
def import_command(file, dry_run):
    """Import deputies from a CSV or XLSX FILE (matched by mobile number).

    Prints the counts and every bad row. Exits with 1 if the file cannot be read at all.
    """
    from notifier.roster.importer import RosterFileError, apply_import, preview_import

    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        _fail(_("Cannot read %(path)s: %(error)s", path=file, error=exc.strerror or str(exc)))
    name = os.path.basename(file)
    try:
        result = preview_import(data, name) if dry_run else apply_import(data, name, actor="cli")
    except RosterFileError as exc:
        _fail(_("%(path)s: %(error)s", path=file, error=str(exc)))
    if dry_run:
        click.echo(_("Dry run: nothing was written."))
    click.echo(
        _(
            "rows: %(total)d, created: %(created)d, updated: %(updated)d, unchanged: %(unchanged)d, errors: %(errors)d",
            total=result.total,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            errors=len(result.errors),
        )
    )
    if result.ignored_columns:
        click.echo(_("Ignored columns: %(columns)s", columns=", ".join(result.ignored_columns)))
    for issue in result.errors:
        click.echo(_("row %(row)d, column %(column)s: %(message)s", row=issue.row, column=issue.column, message=issue.message))


@roster.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_command(file):
    """Write the whole roster to FILE (.xlsx or .csv)."""
    from notifier.roster.exporter import export_roster

    data, _mimetype, _filename = export_roster(_format_for(file))
    _write(file, data)


@roster.command("template")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def template_command(file):
    """Write the blank import template to FILE (.xlsx or .csv)."""
    from notifier.roster.exporter import roster_template

    data, _mimetype, _filename = roster_template(_format_for(file))
    _write(file, data)


def _write(path, data):
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        _fail(_("Cannot write %(path)s: %(error)s", path=path, error=exc.strerror or str(exc)))
    click.echo(_("Wrote %(path)s (%(size)d bytes).", path=path, size=len(data)))
