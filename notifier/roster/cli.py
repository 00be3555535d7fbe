"""`notifier roster import FILE [--dry-run]`."""
import click

roster = click.Group("roster", help="The deputy roster.")
