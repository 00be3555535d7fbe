"""Benchmark the message log and exports over 1,000,000 message rows (PostgreSQL).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench python3 bench/log_bench.py

Builds the schema (migrations), seeds a million rows with generate_series (tests/reports/bigseed.py),
then times, through the real pages (Flask test client, logged-in viewer), the log's first page, a
filtered page, a deep keyset page, and a 100,000-row export as CSV and XLSX; the exports' peak
Python memory is measured in a second pass with tracemalloc (which slows Python down, so its time
is not the one reported). Prints a table. The database is emptied first: never point it at real data.
"""
import os
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("NOTIFIER_ENV", "testing")

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))


def main():
    from flask_migrate import upgrade
    from sqlalchemy import text

    from notifier import create_app
    from notifier.extensions import db
    from tests.conftest import PASSWORD, csrf_token
    from tests.reports.bigseed import seed_million

    url = os.environ.get("BENCH_DATABASE_URL") or sys.exit("set BENCH_DATABASE_URL (it will be emptied)")
    import tempfile

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                     JOBS_DIR=tempfile.mkdtemp(prefix="log-bench-jobs-"))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        started = time.monotonic()
        with db.engine.begin() as conn:
            seed_million(conn, ROWS)
        print(f"seeded {ROWS:,} messages in {time.monotonic() - started:.1f} s")
        from notifier.accounts.service import create_user

        create_user("bench", "viewer", password=PASSWORD)
        db.session.remove()

    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": csrf_token(client)})
    deep = ROWS // 3

    def timed(path, repeat=7):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            body = response.get_data()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        return statistics.median(times), min(times), len(body)

    print(f"\n{'request':<52} {'median ms':>10} {'min ms':>8}")
    for label, path in [
        ("log, first page (50 rows)", "/messages/"),
        ("log, filtered: status=failed, level=county", "/messages/?status=failed&level=county"),
        ("log, filtered: q=代表123 (name)", "/messages/?q=%E4%BB%A3%E8%A1%A8123"),
        ("log, filtered: notice_id=77", "/messages/?notice_id=77"),
        (f"log, deep page (before={deep:,})", f"/messages/?before={deep}"),
        (f"log, deep filtered page (error_code=30006, before={deep:,})", f"/messages/?error_code=30006&before={deep}"),
        ("API /api/v1/messages first page", None),
    ]:
        if path is None:
            continue
        median, best, _size = timed(path)
        print(f"{label:<52} {median:>10.1f} {best:>8.1f}")

    export_path = "/messages/export?status=failed&format="  # i % 10 == 7: exactly ROWS / 10 rows
    started = time.perf_counter()
    response = client.get(export_path + "csv")
    size = len(response.get_data())
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    client.get(export_path + "csv").get_data()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"export {ROWS // 10:,} rows as CSV   {elapsed:>8.1f} s  {size / 1e6:>6.1f} MB  "
          f"peak Python memory {peak / 1e6:.1f} MB (streamed in the request)")

    # A large XLSX is a background job: the request only queues it; the worker's part is timed here.
    from notifier.jobs import service

    started = time.perf_counter()
    response = client.get(export_path + "xlsx")
    asked = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    started = time.perf_counter()
    with app.app_context():
        assert service.run(job_id) == "done"
    elapsed = time.perf_counter() - started
    size = len(client.get(f"/jobs/{job_id}/download").get_data())
    print(f"export {ROWS // 10:,} rows as XLSX  {elapsed:>8.1f} s  {size / 1e6:>6.1f} MB  "
          f"(a job: the request answered in {asked * 1000:.0f} ms)")

if __name__ == "__main__":
    main()
