"""With a million message rows on PostgreSQL, the log's first page, a deep (keyset) page and every
filter are read through indexes: no sequential scan of `messages`, and each page in milliseconds."""
import json
import time

import pytest
from sqlalchemy.dialects import postgresql

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.reports.log import LogFilter, log_query, search
from tests.reports.bigseed import seed_million

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 1_000_000


def _plan(query):
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    plan = db.session.execute(db.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar()
    return plan if isinstance(plan, list) else json.loads(plan)


def _nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _page_query(f, before=None, limit=50):
    query = log_query(f)
    if before:
        query = query.where(Message.id < before)
    return query.order_by(Message.id.desc()).limit(limit + 1)


CASES = {
    "first page": (LogFilter(), None),
    "deep page": (LogFilter(), ROWS // 3),
    "status": (LogFilter(status="failed"), None),
    "deep status": (LogFilter(status="undelivered"), ROWS // 4),
    "notice": (LogFilter(notice_id=77), None),
    "error code": (LogFilter(error_code="30006"), ROWS // 2),
    "name": (LogFilter(q="代表123"), None),
    "number": (LogFilter(q="00004321"), None),
    "level": (LogFilter(level="national"), ROWS // 2),
    "level and status": (LogFilter(level="county", status="failed"), None),
}


def test_log_pages_use_indexes(ctx):
    """One test (the tables are emptied after each test): seed once, then every case."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL")
    started = time.monotonic()
    with db.engine.begin() as conn:
        seed_million(conn, ROWS)
    print(f"\nseeded {ROWS:,} messages in {time.monotonic() - started:.1f} s")
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == ROWS
    problems = []
    for case, (f, before) in CASES.items():
        nodes = list(_nodes(_plan(_page_query(f, before))[0]["Plan"]))
        on_messages = [n for n in nodes if n.get("Relation Name") == "messages"]
        kinds = {n["Node Type"] for n in on_messages}
        index_names = sorted({n.get("Index Name") for n in nodes if n.get("Index Name", "").startswith(
            ("pk_messages", "ix_messages", "uq_messages"))})
        started = time.perf_counter()
        page = search(f, before=before, limit=50)
        elapsed = (time.perf_counter() - started) * 1000
        print(f"{case:>16}: {sorted(kinds)} {index_names} {len(page['messages'])} rows in {elapsed:.1f} ms")
        ids = [m.id for m in page["messages"]]
        if not on_messages or "Seq Scan" in kinds or not index_names:
            problems.append((case, kinds))
        if not ids or ids != sorted(ids, reverse=True) or (before is not None and ids[0] >= before):
            problems.append((case, "wrong page"))
        if elapsed > 2000:
            problems.append((case, f"{elapsed:.0f} ms"))
    assert not problems
