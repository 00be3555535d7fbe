"""Dialect-aware SQL pieces (PostgreSQL in production; SQLite for small installs and the demo)."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func

from notifier.extensions import db


def is_postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def epoch(column):
    """Seconds since 1970 of a timestamp column."""
    if is_postgres():
        return func.extract("epoch", column)
    return func.cast(func.strftime("%s", column), db.Float)


def local_day(column):
    """The local calendar day of a UTC timestamp, as a date (PostgreSQL) or 'YYYY-MM-DD' (SQLite)."""
    zone = current_app.config["TIMEZONE"]
    if is_postgres():
        return func.date(func.timezone(zone, column))
    offset = datetime.now(ZoneInfo(zone)).utcoffset().total_seconds()
    return func.date(column, f"{int(offset):+d} seconds")
