"""The notice list in keyset pages: every notice once, with no gap and no repeat, also when many
share a creation time; the filters kept on the next pages; a made-up cursor gives the newest
page; and one GET makes the same number of queries whatever the page shows (no query per row)."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import insert

from notifier.extensions import db
from notifier.notices import listing
from notifier.notices.models import Notice
from notifier.paging import NEWER, BadCursor, encode_cursor
from notifier.timeutil import utcnow
from tests.querycount import queries_of


def add_notices(n, authors, same_time_every=4, status=lambda i: "draft", start=None):
    """n notices in bulk; `same_time_every` at a time share their created_at to the microsecond."""
    start = start or utcnow().replace(microsecond=123456)
    rows = [{"title": f"通知{i}", "body": "请参加会议。", "category": "meeting", "source": "congress",
             "audience": {"levels": ["county"]}, "reply_mode": "none", "urgent": False, "status": status(i),
             "created_by_id": authors[i % len(authors)], "created_at": start - timedelta(minutes=i // same_time_every),
             "updated_at": start} for i in range(n)]
    ids = db.session.scalars(insert(Notice).returning(Notice.id), rows).all()
    db.session.commit()
    return ids


def newest_first(ids):
    rows = db.session.execute(db.select(Notice.created_at, Notice.id).where(Notice.id.in_(ids))).all()
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


def test_pages_walk_every_notice_once_when_times_are_shared(ctx, make_user):
    authors = [make_user("composer").id, make_user("composer").id]
    ids = add_notices(23, authors)  # shared times fall across page boundaries (5 a page)
    seen, cursor, pages = [], None, []
    while True:
        page = listing.list_page({}, cursor, limit=5)
        pages.append([n.id for n in page.rows])
        seen += pages[-1]
        if not page.older:
            break
        cursor = page.older
    assert seen == newest_first(ids) and len(set(seen)) == 23 and len(pages) == 5
    # And back: "newer" from the last page gives the pages before it, in the same order.
    back = []
    page = listing.list_page({}, encode_cursor(*_key(pages[-1][0])), NEWER, limit=5)
    while page.rows:
        back.insert(0, [n.id for n in page.rows])
        if not page.newer:
            break
        page = listing.list_page({}, page.newer, NEWER, limit=5)
    assert back == pages[:-1]


def _key(notice_id):
    notice = db.session.get(Notice, notice_id)
    return notice.created_at, notice.id


def test_a_row_added_meanwhile_neither_shifts_nor_repeats_the_walk(ctx, make_user):
    author = make_user("composer").id
    ids = add_notices(12, [author])
    first = listing.list_page({}, None, limit=5)
    add_notices(3, [author], start=utcnow() + timedelta(hours=1))  # newer ones arrive while reading
    rest = listing.list_page({}, first.older, limit=20)
    assert [n.id for n in first.rows] + [n.id for n in rest.rows] == newest_first(ids)


def test_the_filters_stay_on_every_page(ctx, make_user):
    authors = [make_user("composer").id, make_user("composer").id]
    ids = add_notices(30, authors, status=lambda i: "draft" if i % 3 else "completed")
    drafts_of_first = [i for n, i in enumerate(ids) if n % 3 and authors[n % 2] == authors[0]]
    seen, cursor = [], None
    args = {"status": "draft", "author": str(authors[0])}
    while True:
        page = listing.list_page(args, cursor, limit=4)
        seen += [n.id for n in page.rows]
        assert all(n.status == "draft" and n.created_by_id == authors[0] for n in page.rows)
        if not page.older:
            break
        cursor = page.older
    assert seen == newest_first(drafts_of_first)


@pytest.mark.parametrize("cursor", ["x", "bm9wZQ", encode_cursor(utcnow(), 1)[:-3] + "!!!", "a" * 200,
                                    "WyIyMDI2LTAxLTAxIiwxXQ"])  # ["2026-01-01",1]: no time zone
def test_a_cursor_that_does_not_decode_is_refused(ctx, cursor):
    with pytest.raises(BadCursor):
        listing.list_page({}, cursor)


def _walk_links(client, path):
    """The ids of every page reached by following the "older" links from `path`, and the links."""
    ids, links = [], []
    while path:
        page = client.get(path).get_data(as_text=True)
        ids += [int(i) for i in re.findall(r'<tr data-notice-id="(\d+)"', page)]
        match = re.search(r'id="pager-older" rel="next" href="([^"]+)"', page)
        path = match.group(1).replace("&amp;", "&") if match else None
        if path:
            links.append(path)
    return ids, links


def test_the_page_walks_older_and_newer_with_opaque_cursors(app, client, login, make_user, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 7)
    composer = make_user("composer")
    with app.app_context():
        ids = add_notices(30, [composer.id], status=lambda i: "draft" if i % 2 else "completed")
        expected = newest_first(ids)
        drafts = newest_first(ids[1::2])
        db.session.remove()
    login(composer)
    seen, links = _walk_links(client, "/notices/")
    assert seen == expected and len(links) == 4
    assert all(re.fullmatch(r"/notices/\?older=[A-Za-z0-9_-]+", link) for link in links)  # opaque
    page = client.get(links[-1]).get_data(as_text=True)
    assert 'id="pager-older"' not in page and 'id="pager-newest"' in page
    newer = re.search(r'id="pager-newer" rel="prev" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    back = [int(i) for i in re.findall(r'<tr data-notice-id="(\d+)"', client.get(newer).get_data(as_text=True))]
    assert back == expected[21:28]  # the page before the last one
    # The filters go along on the links.
    seen, links = _walk_links(client, "/notices/?status=draft")
    assert seen == drafts and links and all("status=draft" in link for link in links)


def test_a_made_up_cursor_shows_the_newest_page(app, client, login, make_user):
    composer = make_user("composer")
    with app.app_context():
        ids = add_notices(3, [composer.id])
        db.session.remove()
    login(composer)
    response = client.get("/notices/?older=not-a-cursor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert [int(i) for i in re.findall(r'<tr data-notice-id="(\d+)"', page)] == sorted(ids, reverse=True)


def test_one_get_of_the_list_makes_the_same_queries_however_many_rows_it_shows(app, client, login, make_user):
    viewer = make_user("viewer")
    login(viewer)
    with app.app_context():
        add_notices(2, [make_user("composer").id])
        db.session.remove()
    few, response = queries_of(app, client, "/notices/")
    assert len(re.findall(r"<tr data-notice-id=", response.get_data(as_text=True))) == 2
    with app.app_context():  # 48 more, by 12 authors more: a page of 50 with 13 authors
        add_notices(48, [make_user("composer").id for _ in range(12)], same_time_every=1)
        db.session.remove()
    many, response = queries_of(app, client, "/notices/")
    page = response.get_data(as_text=True)
    assert len(re.findall(r"<tr data-notice-id=", page)) == 50 and "composer13" in page  # authors are shown
    assert many == few
    older = re.search(r'id="pager-older" rel="next" href="([^"]+)"', page)
    assert older is None  # exactly 50: no older page
