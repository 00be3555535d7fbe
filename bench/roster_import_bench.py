"""Roster import benchmark (not a test): preview and apply a CSV of N deputies (5,000 by default)
into an empty roster, then re-import the same file (everything unchanged), and report the median
of --runs runs of each step.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    python bench/roster_import_bench.py [-n 5000] [--runs 3]

With --compare REV (e.g. main) it measures instead, old path against new in the same run, each
step in a child process of its own (time and peak RSS): today's code of REV (preview, then
apply_import in the web request) and this checkout's (preview, then the background job that
applies the file: bulk INSERTs, progress written as it goes), into an empty roster and again with
every row unchanged:

    BENCH_DATABASE_URL=... BENCH_REDIS_URL=redis://127.0.0.1:6379/4 \
    python bench/roster_import_bench.py -n 50000 --runs 3 --compare main

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt for every run: give it a database of its own.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
LEVELS = ("县", "市", "省", "全国", "县；市")


def roster_csv(n):
    lines = ["序号,姓名,手机号码,层级,选区,工作单位,职务,标签"]
    for i in range(n):
        lines.append(f"{i + 1},代表{i},1380{i:07d},{LEVELS[i % len(LEVELS)]},第{i % 40}选区,单位{i % 300},"
                     f"职务{i % 20},\"标签{i % 10},组{i % 3}\"")
    return ("\n".join(lines) + "\n").encode()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def child(what, root, db_url, n):
    """One measured step in this process: "<old|new>-<preview|apply>"; prints one JSON line."""
    import json
    import tempfile

    from bench._baseline import Measure, enter

    enter(root)
    from notifier import create_app
    from notifier.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    data = roster_csv(n)
    with app.app_context(), app.test_request_context():
        db.session.execute(db.text("SELECT 1"))
        from notifier.roster.importer import apply_import, preview_import

        if what.endswith("preview"):
            with Measure() as m:
                result = preview_import(data, "roster.csv")
            counts = result.to_dict()
        elif what == "old-apply":
            with Measure() as m:
                result = apply_import(data, "roster.csv", actor="bench")
            counts = result.to_dict()
        else:  # new-apply: what the confirm button now starts, the job, run as the worker runs it
            from notifier.jobs import service

            app.config["JOBS_DIR"] = tempfile.mkdtemp(prefix="import-bench-")
            with Measure() as m:
                name = service.new_file_name(".upload")
                with open(service.file_path(name), "wb") as fh:
                    fh.write(data)
                job = service.create("roster.import", None, {"input": name, "filename": "roster.csv"}, total=n)
                assert service.run(job.id) == "done", db.session.get(type(job), job.id).error
            counts = db.session.get(type(job), job.id).result
        print(json.dumps({"seconds": m.seconds, "peak_mb": m.peak, "growth_mb": m.peak - m.start_mb,
                          "created": counts["created"], "unchanged": counts["unchanged"]}))


def compare(args, db_url):
    from bench._baseline import baseline_tree, run_child
    from bench._common import fresh_schema
    from notifier import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    roots = {"old": baseline_tree(args.compare), "new": ROOT}
    steps = {}
    for _ in range(args.runs):
        for impl in ("old", "new"):  # interleaved: both see the same machine load
            fresh_schema(app)
            for label, what, expect in (("preview (new roster)", "preview", "created"),
                                        ("apply (all created)", "apply", "created"),
                                        ("preview (re-import)", "preview", "unchanged"),
                                        ("apply (all unchanged)", "apply", "unchanged")):
                result = run_child(__file__, roots[impl], [f"{impl}-{what}", "-n", str(args.n)])
                assert result[expect] == args.n, (impl, label, result)
                steps.setdefault((label, impl), []).append(result)
    print(f"\nRoster import, {args.n} rows: median of {args.runs} runs; old = {args.compare}, new = this checkout")
    print(f"{'step':<24} {'path':<4} {'seconds':>8} {'rows/s':>8} {'peak RSS MB':>12} {'growth MB':>10}")
    for (label, impl), runs in steps.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        print(f"{label:<24} {impl:<4} {seconds:>8.2f} {args.n / seconds:>8,.0f} "
              f"{statistics.median(r['peak_mb'] for r in runs):>12.0f} {statistics.median(r['growth_mb'] for r in runs):>10.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="rows in the file (default 5000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", metavar="REV", help="old path (REV's code) against new, in child processes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL")
    if not db_url:
        parser.error("set BENCH_DATABASE_URL (its schema is reset by the benchmark)")
    os.environ.setdefault("NOTIFIER_ENV", "testing")
    if os.environ.get("BENCH_REDIS_URL"):
        os.environ.setdefault("TEST_REDIS_URL", os.environ["BENCH_REDIS_URL"])
    if args.child:
        return child(args.child, args.root, db_url, args.n)
    if args.compare:
        return compare(args, db_url)

    from flask_migrate import upgrade
    from sqlalchemy import text

    from notifier import create_app
    from notifier.extensions import db
    from notifier.roster.importer import apply_import, preview_import

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    data = roster_csv(args.n)
    times = {"preview (new roster)": [], "apply (all created)": [], "preview (re-import)": [],
             "apply (all unchanged)": []}
    with app.app_context():
        for _ in range(args.runs):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            upgrade()
            for label, step, expect in (("preview (new roster)", preview_import, "created"),
                                        ("apply (all created)", apply_import, "created"),
                                        ("preview (re-import)", preview_import, "unchanged"),
                                        ("apply (all unchanged)", apply_import, "unchanged")):
                seconds, result = timed(lambda step=step: step(data, "roster.csv"))
                db.session.rollback()
                assert getattr(result, expect) == args.n and not result.errors, (label, result.to_dict())
                times[label].append(seconds)
                db.session.remove()
    print(f"\nRoster import benchmark: {args.n} rows, median of {args.runs} runs")
    for label, values in times.items():
        print(f"  {label:24s} {statistics.median(values):6.2f} s  ({args.n / statistics.median(values):,.0f} rows/s)")


if __name__ == "__main__":
    main()
