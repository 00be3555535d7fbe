"""Counting the SQL statements a piece of code runs (a page's GET), to show it makes no query
per row: the count must not grow with the number of rows shown."""
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def counting(engine):
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def queries_of(app, client, path):
    """(number of statements, response) of GET path."""
    from notifier.extensions import db

    with app.app_context():
        engine = db.engine
    with counting(engine) as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements), response
