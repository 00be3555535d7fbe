"""The inbox in keyset pages: every text once, with no gap and no repeat, also when many arrive
in the same second; the filters kept on the next pages; a made-up cursor gives the newest page;
and one GET makes the same number of queries whatever the page shows (senders, readers and
handlers come with the page, not one query per row)."""
import re
from datetime import timedelta

from sqlalchemy import insert

from notifier.extensions import db
from notifier.notices.models import Notice
from notifier.replies import listing
from notifier.replies.models import InboundMessage
from notifier.timeutil import utcnow
from tests.notices.conftest import add_deputies
from tests.querycount import queries_of

_sid = iter(range(1, 1_000_000))


def add_texts(n, deputies, same_second_every=3, readers=(), start=None, **fields):
    start = start or utcnow().replace(microsecond=0)
    rows = [{"gateway_id": f"SM-page-{next(_sid)}", "from_number": f"+86139{i:08d}", "to_number": "+15005550006",
             "body": f"收到{i}", "received_at": start - timedelta(seconds=i // same_second_every),
             "deputy_id": deputies[i % len(deputies)] if deputies else None, "kind": "text",
             "read_at": start if readers else None, "read_by_id": readers[i % len(readers)] if readers else None,
             "handled_at": start if readers and i % 2 else None,
             "handled_by_id": readers[(i + 1) % len(readers)] if readers and i % 2 else None, **fields}
            for i in range(n)]
    ids = db.session.scalars(insert(InboundMessage).returning(InboundMessage.id), rows).all()
    db.session.commit()
    return ids


def newest_first(ids):
    rows = db.session.execute(db.select(InboundMessage.received_at, InboundMessage.id)
                              .where(InboundMessage.id.in_(ids))).all()
    return [r.id for r in sorted(rows, key=lambda r: (r.received_at, r.id), reverse=True)]


def walk(args, limit):
    seen, cursor = [], None
    while True:
        page = listing.inbox_page(args, cursor, limit=limit)
        seen += [r.text.id for r in page.rows]
        if not page.older:
            return seen
        cursor = page.older


def test_pages_walk_every_text_once_when_seconds_are_shared(ctx):
    deputies = add_deputies(4)
    ids = add_texts(31, deputies)
    assert walk({}, 4) == newest_first(ids)
    # Texts from strangers (no deputy) are on the pages too, and the unmatched filter pages them alone.
    strangers = add_texts(9, [], same_second_every=9)
    assert walk({"show": "unmatched"}, 2) == newest_first(strangers)
    assert walk({}, 7) == newest_first(ids + strangers)


def test_the_inbox_page_walks_with_its_filters(app, client, login, make_user, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 5)
    viewer = make_user("viewer")
    with app.app_context():
        deputies = add_deputies(3)
        notice = Notice(title="会议", body="x", category="meeting", source="congress", audience={}, status="completed")
        db.session.add(notice)
        db.session.commit()
        mine = add_texts(12, deputies, notice_id=notice.id, kind="confirm")
        add_texts(8, deputies, start=utcnow() - timedelta(seconds=5))
        expected = newest_first(mine)
        notice_id = notice.id
        db.session.remove()
    login(viewer)
    path, seen, links = f"/replies/?notice={notice_id}&kind=confirm", [], []
    while path:
        page = client.get(path).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'data-inbound-id="(\d+)"', page)]
        match = re.search(r'id="pager-older" rel="next" href="([^"]+)"', page)
        path = match.group(1).replace("&amp;", "&") if match else None
        links += [path] if path else []
    assert seen == expected and len(links) == 2
    assert all(f"notice={notice_id}" in link and "kind=confirm" in link and "older=" in link for link in links)
    # The mark form comes back to the same page (its cursor included).
    assert 'name="next" value="/replies/?' in page and "older=" in re.search(r'name="next" value="([^"]+)"', page)[1]
    assert client.get("/replies/?newer=%%%").status_code == 200  # a made-up cursor: the newest page


def test_one_get_of_the_inbox_makes_the_same_queries_however_many_rows_it_shows(app, client, login, make_user):
    composer = make_user("composer")
    login(composer)
    with app.app_context():
        add_texts(2, add_deputies(2), readers=[composer.id])
        db.session.remove()
    few, response = queries_of(app, client, "/replies/")
    assert len(re.findall(r"data-inbound-id=", response.get_data(as_text=True))) == 2
    with app.app_context():  # 98 more from 49 other deputies, read and handled by 7 people
        readers = [make_user("composer").id for _ in range(7)]
        add_texts(98, add_deputies(49, start=100), readers=readers, start=utcnow() + timedelta(minutes=1))
        db.session.remove()
    many, response = queries_of(app, client, "/replies/")
    page = response.get_data(as_text=True)
    assert len(re.findall(r"data-inbound-id=", page)) == 100
    assert "代表148" in page and "composer8" in page  # senders' names and who handled them are shown
    assert many == few
