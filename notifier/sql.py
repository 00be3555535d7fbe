"""SQL pieces every domain uses, the same on PostgreSQL and SQLite."""
from sqlalchemy import ARRAY, Integer, any_, bindparam

from notifier.extensions import db


def id_in(column, ids):
    """`column IN ids`, as one array parameter on PostgreSQL: thousands of placeholders make
    statements slow to build and parse."""
    ids = list(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)
