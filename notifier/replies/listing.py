"""The inbox: its filters and its keyset pages (newest first by the time a text arrived), each
page in one query with the sender's name and who read or handled it (no query per row)."""
from sqlalchemy import select
from sqlalchemy.orm import aliased

from notifier.accounts.models import User
from notifier.extensions import db
from notifier.paging import OLDER, keyset_page
from notifier.replies.models import KINDS, InboundMessage
from notifier.roster.models import Deputy

PAGE_SIZE = 100


def inbox_query(args):
    """The texts matching the inbox's filters (show: unread, unhandled, unmatched; kind; notice),
    unordered; the home page counts with the same query."""
    query = select(InboundMessage)
    show = args.get("show")
    if show == "unread":
        query = query.where(InboundMessage.read_at.is_(None))
    elif show == "unhandled":
        query = query.where(InboundMessage.handled_at.is_(None))
    elif show == "unmatched":
        query = query.where(InboundMessage.deputy_id.is_(None))
    if args.get("kind") in KINDS:
        query = query.where(InboundMessage.kind == args["kind"])
    if str(args.get("notice", "")).isdigit() and int(args["notice"]) < 2**31:
        query = query.where(InboundMessage.notice_id == int(args["notice"]))
    return query


def inbox_page(args, cursor=None, direction=OLDER, limit=None):
    """One page of the inbox: a notifier.paging.Page of rows (text, deputy_name, read_by,
    handled_by), the names as the page shows them. Raises paging.BadCursor for a bad cursor."""
    reader, handler = aliased(User), aliased(User)
    query = (inbox_query(args)
             .add_columns(Deputy.name.label("deputy_name"),
                          reader.display_name.label("read_by_name"), reader.username.label("read_by_username"),
                          handler.display_name.label("handled_by_name"),
                          handler.username.label("handled_by_username"))
             .outerjoin(Deputy, Deputy.id == InboundMessage.deputy_id)
             .outerjoin(reader, reader.id == InboundMessage.read_by_id)
             .outerjoin(handler, handler.id == InboundMessage.handled_by_id))
    page = keyset_page(query, InboundMessage.received_at, InboundMessage.id, cursor, direction, limit or PAGE_SIZE,
                       key=lambda row: (row[0].received_at, row[0].id))
    page.rows = [InboxRow(row) for row in page.rows]
    return page


FILTER_NOTICES = 200


def notices_with_replies(chosen=None, limit=FILTER_NOTICES):
    """(id, title) of the newest notices that have replies, for the inbox's notice filter, and
    the one chosen (`chosen`, an id) wherever it is: the filter never lists every notice ever sent."""
    from notifier.notices.models import Notice

    has_replies = select(InboundMessage.id).where(InboundMessage.notice_id == Notice.id).exists()
    rows = db.session.execute(select(Notice.id, Notice.title).where(has_replies)
                              .order_by(Notice.id.desc()).limit(limit)).all()
    if chosen is not None and chosen not in {r.id for r in rows}:
        rows += db.session.execute(select(Notice.id, Notice.title).where(Notice.id == chosen)).all()
    return rows


class InboxRow:
    """A text on the inbox page with the names beside it."""

    __slots__ = ("text", "deputy_name", "read_by", "handled_by")

    def __init__(self, row):
        self.text = row[0]
        self.deputy_name = row.deputy_name
        self.read_by = row.read_by_name or row.read_by_username
        self.handled_by = row.handled_by_name or row.handled_by_username
