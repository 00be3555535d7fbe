"""The database's clock: the one clock every worker, the sweeper and the web share.

Leases, claim times and the give-up age of a text compare times written by different machines;
taking them all from the database means a worker whose clock runs fast or slow cannot steal a
claim that is still live, nor keep one that has run out. SQLite is the one-machine demo, where
the process's clock is the database's.
"""
from sqlalchemy import func, literal, select

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime


def sql_now():
    """The current time as an SQL expression (one value for a whole statement)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.statement_timestamp(type_=UTCDateTime())
    return literal(utcnow(), UTCDateTime())


def db_now():
    """The database's current time (aware UTC)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.scalar(select(func.clock_timestamp(type_=UTCDateTime())))
    return utcnow()
