"""Page benchmark (not a test): the compose page, the notice list and the inbox at county scale
and above. Seeds 50,000 deputies, 2,000 notices, 20,000 texts sent and 20,000 replies (bulk
INSERTs), then times GET of each page with the Flask test client logged in (median of --runs).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages \\
    python bench/page_bench.py [--runs 5] [--before REV_OR_DIR]

Before and after in one run, on the same rows: the database is seeded at the schema of
migration 0041 and timed with the code of --before (a directory, or a git revision exported
with `git archive` to a temporary folder; by default where this branch left main, so the figures
do not depend on a work tree being edited. There the compose page loads
the whole roster into a select, the list and the inbox load 500/200 rows and their authors and
senders one query per row); then upgraded to this checkout's head (the keyset indexes) and timed
with this code. Each timing runs in a process of its own with that checkout first on sys.path.
"Queries" counts the SQL statements of one GET. EXPLAIN of the deep pages is printed at the end.

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt: give it a database of its own.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from _baseline import baseline_tree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂文辉玲华红建国志民春晓燕鹏宇浩凯"
REDIS_URL = "redis://127.0.0.1:6379/5"


def seed(app, deputies, notices, sent, replies):
    """Bulk rows (Core INSERTs in chunks), deterministic (random.Random(15))."""
    from sqlalchemy import insert, text

    from notifier.delivery.models import Message
    from notifier.extensions import db
    from notifier.notices.models import Notice
    from notifier.replies.models import InboundMessage
    from notifier.roster.models import Deputy, deputy_levels
    from notifier.roster.pinyin import name_sort_key
    from tests.conftest import add_user

    rnd = random.Random(15)
    users = [add_user(app, f"bench{i}", "composer" if i else "admin", display_name=f"科员{i}") for i in range(5)]
    with app.app_context():
        now = datetime.now(UTC).replace(microsecond=0)
        ids = []
        for start in range(0, deputies, 5000):
            rows = []
            for i in range(start, min(deputies, start + 5000)):
                name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
                rows.append({"name": name, "name_sort": name_sort_key(name), "phone": f"+86139{i:08d}",
                             "constituency": f"第{i % 40 + 1}选区", "organisation": "县政府", "title": "代表",
                             "active": i % 97 != 0, "opted_out": i % 89 == 0, "created_at": now, "updated_at": now})
            ids += db.session.scalars(insert(Deputy).returning(Deputy.id), rows).all()
            db.session.execute(insert(deputy_levels), [{"deputy_id": d, "level_code": "county"}
                                                        for d in ids[-len(rows):]])
        # Notices over two years; five at a time share a creation time (a batch made by a script).
        rows = [{"title": f"第{i}号通知：常委会会议", "body": "{name}代表：请于本周五上午九时参加县人大常委会会议。",
                 "category": "meeting", "source": "congress", "audience": {"levels": ["county"]},
                 "reply_mode": "confirm", "urgent": i % 50 == 0, "status": "completed" if i % 10 else "draft",
                 "created_by_id": users[i % 5].id, "created_at": now - timedelta(hours=8 * ((notices - i) // 5)),
                 "updated_at": now, "recipient_count": 10} for i in range(notices)]
        notice_ids = db.session.scalars(insert(Notice).returning(Notice.id), rows).all()
        for start in range(0, sent, 5000):
            db.session.execute(insert(Message), [
                {"notice_id": notice_ids[i % notices], "deputy_id": ids[i % deputies], "to": f"+86139{i % deputies:08d}",
                 "body": "张三代表：请于本周五上午九时参加县人大常委会会议。回复1确认", "status": "delivered",
                 "gateway": "twilio", "created_at": now, "updated_at": now}
                for i in range(start, min(sent, start + 5000))])
        for start in range(0, replies, 5000):
            db.session.execute(insert(InboundMessage), [
                {"gateway_id": f"SM-bench-{i}", "from_number": f"+86139{i % deputies:08d}" if i % 25 else
                 f"+86137{i:08d}", "to_number": "+15005550006", "body": "1" if i % 3 else "收到，准时参加",
                 # Two at a time share a second (a gateway's batch of deliveries).
                 "received_at": now - timedelta(seconds=60 * ((replies - i) // 2)),
                 "deputy_id": ids[i % deputies] if i % 25 else None, "notice_id": notice_ids[i % notices],
                 "kind": "confirm" if i % 3 else "text", "read_at": now if i % 2 else None,
                 "read_by_id": users[i % 5].id if i % 2 else None, "handled_at": now if i % 4 == 1 else None,
                 "handled_by_id": users[1].id if i % 4 == 1 else None}
                for i in range(start, min(replies, start + 5000))])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    return users[1].username


def analyze(app):
    from sqlalchemy import text

    from notifier.extensions import db

    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def run_worker(code_dir, db_url, username, runs):
    """Time the pages with the code of `code_dir`, in a process of its own; its JSON answer."""
    env = {**os.environ, "PYTHONPATH": code_dir, "NOTIFIER_ENV": "testing", "TEST_DATABASE_URL": db_url,
           "TEST_REDIS_URL": os.environ.get("BENCH_REDIS_URL", REDIS_URL)}
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "--user", username,
                          "--runs", str(runs)], env=env, cwd=code_dir, capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(f"timing with {code_dir} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(username, runs):
    """In the timing process: log in, GET each page `runs` times (after one warm-up)."""
    sys.path.insert(0, os.environ["PYTHONPATH"])
    # Only that checkout's code: the editable install's finder would fill in modules it lacks.
    sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    from sqlalchemy import event, select

    from notifier import create_app
    from notifier.extensions import db
    from notifier.notices.models import Notice
    from notifier.replies.models import InboundMessage
    from tests.conftest import PASSWORD, csrf_token, finish_login

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=os.environ["TEST_DATABASE_URL"],
                     REDIS_URL=os.environ["TEST_REDIS_URL"])
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    finish_login(client, app, response, username)
    paths = {"compose": "/notices/new", "notices, first page": "/notices/", "inbox, first page": "/replies/"}
    try:
        from notifier.paging import encode_cursor
    except ImportError:
        encode_cursor = None  # main: no pages (the list shows its newest 500, the inbox 200)
    if encode_cursor is not None:
        with app.app_context():
            middle = db.session.execute(select(Notice.created_at, Notice.id).order_by(
                Notice.created_at.desc(), Notice.id.desc()).offset(1000)).first()
            inbox_middle = db.session.execute(select(InboundMessage.received_at, InboundMessage.id).order_by(
                InboundMessage.received_at.desc(), InboundMessage.id.desc()).offset(10000)).first()
        paths["notices, page at row 1,000"] = "/notices/?older=" + encode_cursor(*middle)
        paths["inbox, page at row 10,000"] = "/replies/?older=" + encode_cursor(*inbox_middle)
        paths["inbox, unread, page at row 10,000"] = "/replies/?show=unread&older=" + encode_cursor(*inbox_middle)
        paths["picker search 王"] = "/notices/deputies?q=王"
        paths["picker search wang"] = "/notices/deputies?q=wang"
    with app.app_context():
        engine = db.engine
    counted = []
    event.listen(engine, "before_cursor_execute", lambda *a: counted.append(1))
    results = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        times = []
        for _ in range(runs):
            counted.clear()
            start = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (path, response.status_code)
        results[name] = {"median_ms": round(statistics.median(times) * 1000, 1), "queries": len(counted),
                         "kb": round(len(response.data) / 1024)}
    print(json.dumps(results))


def explain(app):
    from sqlalchemy import text

    from notifier.extensions import db
    from notifier.notices import listing as notices
    from notifier.paging import encode_cursor
    from notifier.replies import listing as inbox

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        for label, make, sql in (
                ("notices, page at row 1,000", notices.list_page,
                 "SELECT created_at, id FROM notices ORDER BY created_at DESC, id DESC OFFSET 1000 LIMIT 1"),
                ("inbox, page at row 10,000", inbox.inbox_page,
                 "SELECT received_at, id FROM inbound_messages ORDER BY received_at DESC, id DESC OFFSET 10000 LIMIT 1")):
            at, row_id = db.session.execute(text(sql)).first()
            statements = []

            def keep(conn, cursor, statement, parameters, context, executemany, statements=statements):
                statements.append((statement, parameters))

            from sqlalchemy import event

            event.listen(db.engine, "before_cursor_execute", keep)
            make({}, encode_cursor(at, row_id))
            event.remove(db.engine, "before_cursor_execute", keep)
            statement, parameters = statements[-1]
            with db.engine.connect() as conn:
                raw = conn.connection.dbapi_connection.cursor()
                raw.execute("EXPLAIN ANALYZE " + statement, parameters)
                print(f"\nEXPLAIN ANALYZE, {label}:")
                for (line,) in raw.fetchall():
                    print("   ", line)


def export_before(before):
    """The directory of the code timed first: `before` itself, or the git revision exported."""
    if before == "" or (before and os.path.isdir(before)):
        return before
    rev = before or subprocess.run(["git", "-C", ROOT, "merge-base", "HEAD", "main"], capture_output=True,
                                   text=True, check=True).stdout.strip()
    folder = baseline_tree(rev)
    print(f"before: {rev[:12]} exported to {folder}")
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deputies", type=int, default=50000)
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--sent", type=int, default=20000, help="texts sent (messages rows)")
    parser.add_argument("--replies", type=int, default=20000, help="texts received (the inbox)")
    parser.add_argument("--before", default=None,
                        help="directory or git revision timed first (default: merge-base of HEAD and main; '' for none)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.user, args.runs)
    db_url = os.environ.get("BENCH_DATABASE_URL")
    if not db_url:
        parser.error("set BENCH_DATABASE_URL (its schema is dropped and rebuilt)")
    os.environ.setdefault("NOTIFIER_ENV", "testing")
    os.environ.update(TEST_DATABASE_URL=db_url, TEST_REDIS_URL=os.environ.get("BENCH_REDIS_URL", REDIS_URL))
    sys.path.insert(0, ROOT)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from notifier import create_app
    from notifier.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    given = args.before
    args.before = export_before(args.before)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="0041" if args.before else "head")
    started = time.perf_counter()
    username = seed(app, args.deputies, args.notices, args.sent, args.replies)
    print(f"seeded {args.deputies} deputies, {args.notices} notices, {args.sent} texts sent, {args.replies} replies "
          f"in {time.perf_counter() - started:.1f} s; medians of {args.runs} runs")
    before = run_worker(args.before, db_url, username, args.runs) if args.before else {}
    if args.before:
        with app.app_context():
            upgrade()
        analyze(app)
    after = run_worker(ROOT, db_url, username, args.runs)
    print(f"\n{'page':36} {'before ms':>10} {'queries':>8} {'KB':>6}   {'after ms':>9} {'queries':>8} {'KB':>6}")
    for name in list(before) + [k for k in after if k not in before]:
        b, a = before.get(name), after.get(name)
        cells = [f"{b['median_ms']:>10} {b['queries']:>8} {b['kb']:>6}" if b else f"{'n/a':>10} {'':>8} {'':>6}",
                 f"{a['median_ms']:>9} {a['queries']:>8} {a['kb']:>6}" if a else f"{'n/a':>9}"]
        print(f"{name:36} {cells[0]}   {cells[1]}")
    explain(app)
    if args.before and args.before != given:
        import shutil

        shutil.rmtree(args.before, ignore_errors=True)


if __name__ == "__main__":
    main()
