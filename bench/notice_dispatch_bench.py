"""Notice dispatch benchmark (not a test): approve a notice to N deputies (10,000 by default) and
measure the time from approval to the first and to the last text accepted by the Twilio simulator.

Approval runs in this process (as the web would); a Celery worker runs the dispatch (message rows
written in chunks, each queued as soon as it is committed) and the sending; the simulator answers
with --latency-ms. No rate cap unless --rate is given.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 python bench/notice_dispatch_bench.py [-n 10000]

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt, and BENCH_REDIS_URL is flushed: give
it a database and a Redis db of its own.
"""
import argparse
import time

import redis
import requests
from _common import (
    bench_urls,
    configure_simulator,
    free_port,
    fresh_schema,
    platform_env,
    start_simulator,
    start_workers,
    stop,
    wait_for_texts,
    yardstick,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10000, help="deputies in the audience (default 10000)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=0,
                        help="threads per worker (default 0: the out-of-the-box worker's own)")
    parser.add_argument("--batch", type=int, default=100, help="SEND_BATCH_SIZE")
    parser.add_argument("--chunk", type=int, default=1000, help="NOTICE_DISPATCH_CHUNK: rows per INSERT")
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--stand-in", choices=("lean", "simulator"), default="lean",
                        help="the gateway: bench/_standin.py (default; cheap, so the platform is what is "
                             "measured) or the full simulator (itself about 1 ms of CPU per text)")
    parser.add_argument("--rate", type=float, default=100000, help="SMS_RATE_LIMIT, segments/s (default: no cap)")
    parser.add_argument("--split", action="store_true",
                        help="as docker-compose.yml: --workers sending (-Q send) plus one worker for the rest")
    args = parser.parse_args()
    db_url, redis_url = bench_urls(parser)
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    env = platform_env(db_url, redis_url, sim_url, SMS_RATE_LIMIT=str(args.rate), SEND_BATCH_SIZE=str(args.batch),
                       NOTICE_DISPATCH_CHUNK=str(args.chunk))

    from notifier import create_app
    from notifier.accounts.models import User
    from notifier.extensions import db
    from notifier.notices import workflow
    from tests.notices.conftest import add_deputies

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url, REDIS_URL=redis_url, TWILIO_API_BASE_URL=sim_url)
    fresh_schema(app)
    with app.app_context():
        for start in range(0, args.n, 5000):
            add_deputies(min(5000, args.n - start), levels=("county",), start=start)
        composer = User(username="composer", role="composer", password_hash="x")
        approver = User(username="approver", role="approver", password_hash="x")
        db.session.add_all([composer, approver])
        db.session.commit()
        notice = workflow.create_notice({
            "title": "基准测试", "body": "{name}代表：定于本周五上午九时召开县人大常委会会议，请准时出席。",
            "category": "meeting", "source": "congress", "audience": {"levels": ["county"]}, "reply": "confirm"},
            composer)
        workflow.submit(notice, composer)
        notice_id, approver_id = notice.id, approver.id
        db.session.remove()
    redis.Redis.from_url(redis_url).flushdb()

    procs = {"simulator": start_simulator(port, args.latency_ms, lean=args.stand_in == "lean")}
    try:
        configure_simulator(sim_url)
        if args.split:
            procs.update(start_workers("nsend", "notice-bench-send", args.workers, args.concurrency, env, "INFO",
                                       queues="send"))
            procs.update(start_workers("nrest", "notice-bench-rest", 1, 2, env, "INFO",  # as docker-compose.yml
                                       queues="periodic,callbacks,jobs"))
        else:
            procs.update(start_workers("nbench", "notice-bench", args.workers, args.concurrency, env, "INFO"))
        time.sleep(8)  # worker start-up is not part of the run

        with app.app_context():
            started = time.monotonic()
            workflow.approve(db.session.get(type(notice), notice_id), db.session.get(User, approver_id))
            approved_s = time.monotonic() - started
            db.session.remove()
        first, last = wait_for_texts(sim_url, args.n, started, 0.02, 0.25)
        with app.app_context():
            from notifier.notices.models import Notice

            row = db.session.get(Notice, notice_id)
            written_s = (row.dispatched_at - row.approved_at).total_seconds() if row.dispatched_at else None
        accepted = requests.get(f"{sim_url}/_sim/messages", timeout=120).json()["messages"]
        duplicates = len(accepted) - len({m["to"] for m in accepted})
        layout = f"{args.workers} sending worker(s) + 1 for the rest" if args.split else f"{args.workers} worker(s)"
        print(f"\nNotice dispatch benchmark: {args.n} deputies, {layout} x {args.concurrency or 'default'} threads, "
              f"send batch {args.batch}, insert chunk {args.chunk}, gateway {args.stand_in} at {args.latency_ms:g} ms, "
              f"rate cap {args.rate:g}/s")
        print(f"  approve() returned after {approved_s * 1000:.0f} ms; machine yardstick {yardstick() * 1000:.0f} ms")
        print(f"  approval -> first text accepted: {first:.2f} s")
        if written_s is not None:
            print(f"  approval -> every message row written and queued: {written_s:.2f} s")
        print(f"  approval -> last text accepted:  {last:.2f} s ({args.n / last:.0f} texts/s overall); "
              f"duplicates at the gateway: {duplicates}")
    finally:
        stop(procs, 20)


if __name__ == "__main__":
    main()
