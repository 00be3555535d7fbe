"""Roster import benchmark (not a test): preview and apply a CSV of N deputies (5,000 by default)
into an empty roster, then re-import the same file (everything unchanged), and report the median
of --runs runs of each step.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    python bench/roster_import_bench.py [-n 5000] [--runs 3]

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="rows in the file (default 5000)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL")
    if not db_url:
        parser.error("set BENCH_DATABASE_URL (its schema is reset by the benchmark)")
    os.environ.setdefault("NOTIFIER_ENV", "testing")

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
