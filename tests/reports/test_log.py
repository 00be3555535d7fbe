"""The message log's search: every filter alone and combined, keyset pages, bad input."""
from datetime import timedelta

from notifier.reports.log import LogFilter, message_history, parse_filters, search
from notifier.timeutil import utcnow
from tests.reports.conftest import add_deputy, add_message, add_notice


def ids(f, **kw):
    return [m.id for m in search(f, **kw)["messages"]]


def test_no_filter_lists_everything_newest_first(ctx, seed):
    assert ids(LogFilter()) == sorted(seed["messages"], reverse=True)


def test_each_filter(ctx, seed):
    m, n = seed["messages"], seed["notices"]
    assert ids(LogFilter(q="张")) == [m[5], m[4], m[0]]  # 张三 twice, 张小明 once
    assert ids(LogFilter(q="张小")) == [m[4]]
    assert ids(LogFilter(q="38001")) == [m[5], m[1], m[0]]  # part of a number (both 1380013800x)
    assert ids(LogFilter(q="138000")) == [m[5], m[0]]
    assert ids(LogFilter(q="13800138001")) == [m[1]]
    assert ids(LogFilter(q="+86 139 1111 2222")) == [m[6], m[2]]  # spaces and + ignored
    assert ids(LogFilter(q="nobody")) == []
    assert ids(LogFilter(notice_id=n[1])) == [m[7], m[6], m[5]]
    assert ids(LogFilter(status="failed")) == [m[6], m[2]]
    assert ids(LogFilter(error_code="30005")) == [m[3]]
    assert ids(LogFilter(level="national")) == [m[5], m[0]]
    assert ids(LogFilter(level="county")) == [m[7], m[6], m[5], m[4], m[3], m[2], m[0]]
    assert ids(LogFilter(level="county", status="failed", notice_id=n[0])) == [m[2]]
    assert ids(LogFilter(q="王五", notice_id=n[1])) == [m[6]]


def test_like_wildcards_in_q_are_literal(ctx, seed):
    assert ids(LogFilter(q="%")) == []
    assert ids(LogFilter(q="_")) == []


def test_date_range(ctx):
    deputy = add_deputy("钱七", "+8613600000001")
    notice = add_notice()
    now = utcnow()
    old = add_message(notice, deputy, created_at=now - timedelta(days=10))
    mid = add_message(notice, add_deputy("孙八", "+8613600000002"), created_at=now - timedelta(days=3))
    new = add_message(notice, add_deputy("周九", "+8613600000003"), created_at=now - timedelta(minutes=5))
    from notifier.extensions import db

    db.session.commit()
    f, errors = parse_filters({"since": (now - timedelta(days=5)).isoformat()})
    assert not errors and ids(f) == [new.id, mid.id]
    f, errors = parse_filters({"until": (now - timedelta(days=2)).isoformat()})
    assert not errors and ids(f) == [mid.id, old.id]
    # Dates are local calendar days; `until` includes its whole day.
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    f, errors = parse_filters({"since": today.isoformat(), "until": today.isoformat()})
    assert not errors and new.id in ids(f) and old.id not in ids(f)


def test_keyset_pages_walk_every_row_once(ctx, seed):
    seen, before = [], None
    while True:
        page = search(LogFilter(), before=before, limit=3)
        seen += [m.id for m in page["messages"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(seed["messages"], reverse=True)


def test_bad_filters_are_named_not_raised(ctx):
    f, errors = parse_filters({"notice_id": "abc", "status": "lost", "level": "galactic", "since": "yesterday",
                               "until": "2026-13-01", "error_code": "30003; DROP", "q": "x" * 65})
    assert set(errors) == {"notice_id", "status", "level", "since", "until", "error_code", "q"}
    f, errors = parse_filters({"since": "2026-02-01", "until": "2026-01-01"})
    assert "until" in errors
    f, errors = parse_filters({"notice_id": str(2**40)})
    assert "notice_id" in errors


def test_history_has_events_exchanges_and_reply(ctx, seed):
    m = seed["messages"]
    data = message_history(m[2], with_exchanges=True)
    assert data["status"] == "failed" and data["error_code"] == "30003"
    assert [e["status"] for e in data["events"]] == ["queued", "failed"]
    assert data["exchanges"] == []
    assert data["error_title"] and data["error_advice"]
    assert "exchanges" not in message_history(m[2])
    assert message_history(999999) is None and message_history(-1) is None
