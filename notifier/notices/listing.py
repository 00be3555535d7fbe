"""The notice list: its filters and its keyset pages (newest first by creation time), each page
in one query with its authors (no query per row)."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, raiseload

from notifier.notices.models import CATEGORIES, SOURCES, STATUSES, Notice
from notifier.paging import OLDER, keyset_page

PAGE_SIZE = 50


def _day_bounds(day):
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    return start, start + timedelta(days=1)


def list_query(args):
    """The notices matching the list's filters (status, category, source, author, from, until:
    local calendar days), unordered; the home page counts with the same query."""
    query = select(Notice)
    for key, choices in (("status", STATUSES), ("category", CATEGORIES), ("source", SOURCES)):
        if args.get(key) in choices:
            query = query.where(getattr(Notice, key) == args[key])
    author = str(args.get("author", ""))
    if author.isdigit() and int(author) < 2**31:
        query = query.where(Notice.created_by_id == int(author))
    for key, op in (("from", "ge"), ("until", "lt")):
        try:
            day = date.fromisoformat(args.get(key, ""))
        except (TypeError, ValueError):
            continue
        start, end = _day_bounds(day)
        query = query.where(Notice.created_at >= start if op == "ge" else Notice.created_at < end)
    return query


def list_page(args, cursor=None, direction=OLDER, limit=None):
    """One page of the list (notifier.paging.Page of Notice, authors loaded with them). Raises
    paging.BadCursor for a cursor that does not decode."""
    query = list_query(args).options(joinedload(Notice.created_by), raiseload("*"))
    return keyset_page(query, Notice.created_at, Notice.id, cursor, direction, limit or PAGE_SIZE)
