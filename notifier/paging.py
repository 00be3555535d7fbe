"""Keyset pages of a list, newest first, for the pages that list many rows (notices, the inbox).

A page is `WHERE (sort_key, id) < (last values) ORDER BY sort_key DESC, id DESC LIMIT n + 1`:
the extra row says whether there is an older page, and the id breaks ties between rows that
share a timestamp, so walking the pages shows every row once, with no gap and no repeat, however
many rows arrive meanwhile (an offset would shift under them). Going back ("newer") is the same
query the other way round, reversed.

The cursor in the URL is opaque (base64 of the sort key and the id); anything that does not
decode is BadCursor, which the pages answer with their first page.
"""
import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import literal, tuple_

from notifier.extensions import db

MAX_ID = 2**31 - 1
OLDER, NEWER = "older", "newer"


class BadCursor(ValueError):
    pass


def encode_cursor(at, row_id):
    text = json.dumps([at.isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """(aware datetime, id) from a cursor; BadCursor for anything else."""
    try:
        if len(cursor) > 120:
            raise ValueError("too long")
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        at = datetime.fromisoformat(at)
        if at.tzinfo is None or type(row_id) is not int or not 0 < row_id <= MAX_ID:
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    return at, row_id


@dataclass
class Page:
    rows: list = field(default_factory=list)
    older: str | None = None  # cursor of the page after this one (older rows)
    newer: str | None = None  # cursor of the page before it (newer rows)


def keyset_page(query, sort_column, id_column, cursor=None, direction=OLDER, limit=50, key=None):
    """One page of `query` (a Select without ORDER BY/LIMIT), newest first.

    `cursor` from a previous Page (None: the newest page); `direction` OLDER or NEWER;
    `key(row) -> (sort value, id)` for rows that are not the entity itself (default: the
    attributes named like the columns). Raises BadCursor for a cursor that does not decode.
    """
    key = key or (lambda row: (getattr(row, sort_column.key), getattr(row, id_column.key)))
    keys = tuple_(sort_column, id_column)
    query = query.order_by(None)
    if cursor:
        at, row_id = decode_cursor(cursor)
        if direction == NEWER:
            query = query.where(keys > tuple_(_bound(sort_column, at), _bound(id_column, row_id)))
            query = query.order_by(sort_column.asc(), id_column.asc())
        else:
            query = query.where(keys < tuple_(_bound(sort_column, at), _bound(id_column, row_id)))
    if not cursor or direction != NEWER:
        query = query.order_by(sort_column.desc(), id_column.desc())
        direction = OLDER
    rows = db.session.execute(query.limit(limit + 1)).all()
    rows = [row[0] if len(row) == 1 else row for row in rows]
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == NEWER:
        rows.reverse()
    if not rows:
        return Page()
    first, last = encode_cursor(*key(rows[0])), encode_cursor(*key(rows[-1]))
    if direction == NEWER:
        return Page(rows, older=last, newer=first if more else None)
    return Page(rows, older=last if more else None, newer=first if cursor else None)


def _bound(column, value):
    return literal(value, type_=column.type)
