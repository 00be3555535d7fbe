"""CMPP connector benchmark (not a test): N texts from the outbox through a Celery worker (which
hands them to the connector), the `notifier cmpp` connector process (claims, window of
CMPP_WINDOW, results and reports recorded in PostgreSQL) and the ISMG simulator at 20 ms and
150 ms of SUBMIT latency. Where bench/cmpp_window_bench.py measures the session alone, this one
measures the whole connector: texts per second from queued to delivered, and CPU per text in the
connector, the worker and the simulator. Each figure is the median of --runs runs.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 python bench/cmpp_connector_bench.py [-n 2000] [--runs 3]

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt, and BENCH_REDIS_URL is flushed: give
it a database and a Redis db of their own.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import psutil
import redis
import requests
from _common import ROOT, bench_urls, fresh_schema, platform_env, start_workers, stop
from cmpp_window_bench import READY
from delivery_bench import cpu_seconds

BODY = "【县人大常委会】请各位代表于本周五上午九时参加常委会会议。第{i}号"
NOTIFIER = os.path.join(os.path.dirname(sys.executable), "notifier")


def start_ismg():
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier.simulator.cmpp", "--port", "0", "--control-port", "0", "--quiet",
         "--set", "report_after_ms=20"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    found = READY.search(proc.stdout.readline())
    if not found:
        proc.kill()
        raise SystemExit("the ISMG simulator did not start")
    return proc, found["host"], found["port"], found["control"]


def delivered(db, Message, DELIVERED, ids):
    from sqlalchemy import func, select

    db.session.commit()
    return db.session.scalar(select(func.count()).where(Message.id.in_(ids), Message.status == DELIVERED))


def one_run(app, n, offset, procs):
    """(texts per second queued -> delivered, CPU s per text by process name)."""
    from notifier.delivery.models import DELIVERED, Message
    from notifier.delivery.outbox import create_messages, enqueue
    from notifier.extensions import db

    ps = {name: psutil.Process(p.pid) for name, p in procs.items()}
    with app.app_context():
        rows = create_messages([{"to": f"+86139{i:08d}", "body": BODY.format(i=i)} for i in range(offset, offset + n)])
        ids = [r.id for r in rows]
        before = {name: cpu_seconds(p) for name, p in ps.items()}
        started = time.monotonic()
        enqueue(ids)
        while delivered(db, Message, DELIVERED, ids) < n:
            if time.monotonic() - started > 1800:
                raise SystemExit("gave up waiting for the texts to be delivered")
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        cpu = {name: (cpu_seconds(p) - before[name]) / n for name, p in ps.items()}
        db.session.remove()
    return n / elapsed, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="texts per run (default 2000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=16, help="CMPP_WINDOW (default 16)")
    args = parser.parse_args()
    db_url, redis_url = bench_urls(parser)

    procs = {}
    ismg, host, port, control = start_ismg()
    procs["simulator"] = ismg
    try:
        config = requests.get(f"{control}/_sim/config", timeout=5).json()
        env = platform_env(db_url, redis_url, "http://127.0.0.1:9", SMS_GATEWAY="cmpp", CMPP_HOST=host,
                           CMPP_PORT=str(port), CMPP_SP_ID=config["sp_id"],
                           CMPP_SHARED_SECRET=config["shared_secret"], CMPP_SRC_ID=config["src_id"],
                           CMPP_WINDOW=str(args.window), CMPP_RATE_LIMIT="100000")
        from notifier import create_app

        app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url, REDIS_URL=redis_url)
        fresh_schema(app)
        redis.Redis.from_url(redis_url).flushdb()
        procs.update(start_workers("cmppbench", "cmpp-connector-bench", 1, 2, env, "WARNING"))
        log = open("/tmp/cmpp-connector-bench-connector.log", "w")  # noqa: SIM115
        procs["connector"] = subprocess.Popen([NOTIFIER, "cmpp"], cwd=ROOT, env=env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True)
        alive = redis.Redis.from_url(redis_url)
        for _ in range(600):
            if alive.exists("notifier:gateway:cmpp:alive"):
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the connector did not log in: see /tmp/cmpp-connector-bench-connector.log")
        time.sleep(3)  # the worker's start-up is not part of the run

        measured = {"connector": procs["connector"], "worker": procs["cmppbench0"], "simulator": ismg}
        rows, offset = [], 0
        for latency in (20, 150):
            requests.post(f"{control}/_sim/config", json={"latency_ms": latency}, timeout=5)
            runs = []
            for _ in range(args.runs):
                runs.append(one_run(app, args.n, offset, measured))
                offset += args.n
            rate = statistics.median(r for r, _ in runs)
            cpu = {name: statistics.median(c[name] for _, c in runs) * 1000 for name in runs[0][1]}
            rows.append((latency, rate, cpu))
        at_ismg = requests.get(f"{control}/_sim/stats", timeout=10).json()
    finally:
        stop(procs, 20)

    print(f"\nCMPP connector: {args.n} texts per run, window {args.window}, medians of {args.runs} runs; "
          "queued to delivered (report recorded)")
    print(f"{'latency':>8} {'texts/s':>9} {'connector CPU ms/text':>22} {'worker ms/text':>15} "
          f"{'simulator ms/text':>18}")
    for latency, rate, cpu in rows:
        print(f"{latency:>6}ms {rate:>9.1f} {cpu['connector']:>22.3f} {cpu['worker']:>15.3f} "
              f"{cpu['simulator']:>18.3f}")
    print(f"  at the simulator: {', '.join(f'{k} {v}' for k, v in at_ismg.items() if not isinstance(v, dict))}")


if __name__ == "__main__":
    main()
