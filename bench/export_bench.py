"""Roster export benchmark (not a test): N deputies (100,000 by default; --rows 50000,100000 for
several sizes) exported as CSV and XLSX by today's code path (a git revision, `main` by default:
export_roster building the whole file in memory, in the web request) and by the new one (CSV
streamed from a server-side cursor in chunks; XLSX by the background job: write_only openpyxl to
a file), each in a child process of its own, medians of --runs runs: time and peak RSS.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_jobs \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/4 python bench/export_bench.py [--rows 100000] [--runs 3]

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt: give it a database of its own.
"""
import argparse
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench._baseline import Measure, baseline_tree, enter, run_child  # noqa: E402

SEED = """
INSERT INTO deputies (name, name_sort, phone, constituency, organisation, title, active, opted_out, created_at, updated_at)
SELECT '代表' || i, 'daibiao' || lpad(i::text, 7, '0'), '+86138' || lpad(i::text, 8, '0'), '第' || (i % 40) || '选区',
       CASE WHEN i % 1000 = 0 THEN '=HYPERLINK("x")' ELSE '单位' || (i % 300) END, '职务' || (i % 20),
       i % 17 <> 0, false, now(), now()
FROM generate_series(1, :n) AS i;
INSERT INTO deputy_levels (deputy_id, level_code)
SELECT id, (ARRAY['national', 'provincial', 'municipal', 'county'])[1 + id % 4] FROM deputies;
INSERT INTO deputy_levels (deputy_id, level_code) SELECT id, 'county' FROM deputies WHERE id % 4 <> 3 AND id % 3 = 0;
INSERT INTO tags (name) SELECT '标签' || i FROM generate_series(0, 9) AS i;
INSERT INTO deputy_tags (deputy_id, tag_id) SELECT d.id, t.id FROM deputies d JOIN tags t ON t.name = '标签' || (d.id % 10);
INSERT INTO deputy_groups (name, kind, created_at) SELECT '第' || i || '代表小组', 'group', now() FROM generate_series(0, 9) AS i;
INSERT INTO deputy_groups (name, kind, created_at) SELECT '联络站' || i, 'station', now() FROM generate_series(0, 9) AS i;
INSERT INTO deputy_group_members (deputy_id, group_id)
SELECT d.id, g.id FROM deputies d JOIN deputy_groups g ON g.name IN ('第' || (d.id % 10) || '代表小组', '联络站' || (d.id % 10));
ANALYZE;
"""


def seed(app, n):
    from sqlalchemy import text

    from bench._common import fresh_schema
    from notifier.extensions import db

    fresh_schema(app)
    with app.app_context():
        with db.engine.begin() as conn:
            for statement in filter(str.strip, SEED.split(";")):
                conn.execute(text(statement), {"n": n} if ":n" in statement else {})
        from notifier.accounts.service import create_user

        create_user("bench", "admin", password="correct-horse-42")
        db.session.remove()


def child(what, root, db_url):
    enter(root)
    from notifier import create_app
    from notifier.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context(), app.test_request_context():
        db.session.execute(db.text("SELECT 1"))  # connected before the clock starts
        size = 0
        if what in ("old-csv", "old-xlsx"):
            from notifier.roster.exporter import export_roster

            with Measure() as m:
                data = export_roster(what[4:])[0]
                size = len(data)
        elif what == "new-csv":
            from notifier.roster.exporter import csv_chunks, roster_rows

            with Measure() as m:
                for chunk in csv_chunks(roster_rows()):
                    size += len(chunk)
        else:  # new-xlsx: what the view and the job do (the ids of the list, then the job's run)
            from notifier.accounts.models import User
            from notifier.jobs import service
            from notifier.roster.models import Deputy

            app.config["JOBS_DIR"] = tempfile.mkdtemp(prefix="export-bench-")
            owner = db.session.scalars(db.select(User).where(User.username == "bench")).one()
            with Measure() as m:
                ids = list(db.session.scalars(db.select(Deputy.id).order_by(Deputy.name_sort, Deputy.id)))
                job = service.create("roster.export", owner, {"ids": ids, "file_name": "x.xlsx"}, total=len(ids))
                assert service.run(job.id) == "done"
                path = service.file_path(db.session.get(type(job), job.id).file_path)
                size = os.path.getsize(path)
            os.remove(path)
        m.report(bytes=size)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="100000", help="deputies, or a comma-separated list of sizes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default="main", help="the git revision whose code is today's path")
    parser.add_argument("--only", default="old-csv,new-csv,old-xlsx,new-xlsx")
    parser.add_argument("--child")
    parser.add_argument("--root")
    args = parser.parse_args()
    db_url, redis_url = os.environ.get("BENCH_DATABASE_URL"), os.environ.get("BENCH_REDIS_URL")
    if not db_url or not redis_url:
        parser.error("set BENCH_DATABASE_URL and BENCH_REDIS_URL (they are reset by the benchmark)")
    os.environ.update({"NOTIFIER_ENV": "testing", "TEST_DATABASE_URL": db_url, "TEST_REDIS_URL": redis_url})
    if args.child:
        return child(args.child, args.root, db_url)

    from notifier import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    roots = {"old": baseline_tree(args.baseline), "new": ROOT}
    table = []
    for n in [int(x) for x in args.rows.split(",")]:
        seed(app, n)
        results = {what: [] for what in args.only.split(",")}
        for _ in range(args.runs):
            for what in results:  # old and new interleaved, so both see the same machine load
                results[what].append(run_child(__file__, roots[what[:3]], [what]))
        for what, runs in results.items():
            table.append((n, what, statistics.median(r["seconds"] for r in runs),
                          statistics.median(r["peak_mb"] for r in runs), statistics.median(r["growth_mb"] for r in runs),
                          runs[0]["bytes"]))
    print(f"\nRoster export: median of {args.runs} runs; old = {args.baseline} ({roots['old']}), new = this checkout")
    print(f"{'rows':>8} {'path':<9} {'seconds':>8} {'peak RSS MB':>12} {'growth MB':>10} {'file MB':>8}")
    for n, what, seconds, peak, growth, size in table:
        print(f"{n:>8} {what:<9} {seconds:>8.2f} {peak:>12.0f} {growth:>10.0f} {size / 1e6:>8.1f}")


if __name__ == "__main__":
    main()
