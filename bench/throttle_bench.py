"""Benchmark (not a test): the limiter under a gateway that allows less than it is configured for.

N texts through Celery worker(s) and the Twilio simulator, with SMS_RATE_LIMIT (--rate, default
100/s) far above the simulator's own cap (--cap, default 10/s, answered HTTP 429 / 20429 beyond
it). Every second it samples the limiter's effective rate (in Redis) and what the gateway accepted
and refused; at the end it reports where the rate settled, how many 429s it took, and that no text
failed or went twice.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 python bench/throttle_bench.py [-n 1200] [--rate 100] [--cap 10]

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt, and BENCH_REDIS_URL is flushed: give
it a database and a Redis db of their own.
"""
import argparse
import statistics
import time
from collections import Counter
from datetime import datetime

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
)

SENDER = "+15005550006"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1200, help="texts (default 1200: two minutes at 10/s)")
    parser.add_argument("--rate", type=float, default=100, help="SMS_RATE_LIMIT, segments/s (default 100)")
    parser.add_argument("--cap", type=float, default=10, help="the gateway's cap, texts/s (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2: one shared limiter)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--backoff", type=float, default=None, help="SMS_RATE_BACKOFF (default: the setting's)")
    parser.add_argument("--recovery", type=float, default=None, help="SMS_RATE_RECOVERY_SECONDS")
    args = parser.parse_args()
    db_url, redis_url = bench_urls(parser)
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    tuning = {k: str(v) for k, v in (("SMS_RATE_BACKOFF", args.backoff), ("SMS_RATE_RECOVERY_SECONDS", args.recovery))
              if v is not None}
    env = platform_env(db_url, redis_url, sim_url, SMS_RATE_LIMIT=str(args.rate), SMS_REQUEUE_AFTER_SECONDS="60",
                       **tuning)

    from sqlalchemy import func, select

    from notifier import create_app
    from notifier.delivery.models import FAILED, FINAL_STATUSES, Message, MessageEvent
    from notifier.delivery.outbox import create_messages, enqueue
    from notifier.delivery.sending import get_limiter
    from notifier.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url, REDIS_URL=redis_url, TWILIO_API_BASE_URL=sim_url,
                     SMS_RATE_LIMIT=args.rate, **{k: float(v) for k, v in tuning.items()})
    fresh_schema(app)
    redis.Redis.from_url(redis_url).flushdb()
    procs = {"simulator": start_simulator(port, args.latency_ms)}
    try:
        configure_simulator(sim_url)
        requests.post(f"{sim_url}/_sim/config", json={"rate_cap": args.cap}, timeout=5)
        procs.update(start_workers("throttle", "throttle-bench", args.workers, args.concurrency, env, "WARNING"))
        time.sleep(6)  # worker start-up is not part of the run
        samples = []  # (t, effective rate, accepted so far, 429s so far, requests so far)
        with app.app_context():
            limiter = get_limiter("twilio")
            rows = create_messages([{"to": f"+86138{i:08d}", "body": f"Meeting on Friday at 9, room {i}."}
                                    for i in range(args.n)])  # GSM-7: one segment each
            started = time.monotonic()
            enqueue([r.id for r in rows])
            while True:
                time.sleep(1.0)
                stats = requests.get(f"{sim_url}/_sim/stats", timeout=10).json()
                samples.append((time.monotonic() - started, limiter.effective_rate(SENDER),
                                stats["accepted"], stats["errors"].get("20429", 0), stats["create_requests"]))
                db.session.commit()
                final = db.session.scalar(select(func.count()).select_from(Message)
                                          .where(Message.status.in_(tuple(FINAL_STATUSES) + ("sent",))))
                if final >= args.n or samples[-1][0] > 1800:
                    break
            total_s = samples[-1][0]
            failed = db.session.scalar(select(func.count()).select_from(Message).where(Message.status == FAILED))
            held = {paced: db.session.scalar(select(func.count()).select_from(MessageEvent).where(
                MessageEvent.kind == "held", (MessageEvent.detail.like("throttled: paced%")).is_(paced)))
                for paced in (False, True)}
            max_attempts = db.session.scalar(select(func.max(Message.attempts)))
            db.session.remove()
        accepted = requests.get(f"{sim_url}/_sim/messages", timeout=60).json()["messages"]
        duplicates = len(accepted) - len({(m["to"], m["body"]) for m in accepted})
        refused = samples[-1][3]

        print(f"\nThrottle benchmark: {args.n} texts, SMS_RATE_LIMIT {args.rate:g}/s, gateway cap {args.cap:g}/s, "
              f"{args.workers} worker(s) x {args.concurrency} threads, latency {args.latency_ms:g} ms")
        print("  t (s)   effective rate   sent (last 5 s)   accepted (last 5 s)   429s so far")
        for i, (t, rate, done, refusals, calls) in enumerate(samples):
            if i % 5 == 4 or i == len(samples) - 1:
                past = samples[i - 5] if i >= 5 else (0, 0, 0, 0, 0)
                span = t - past[0]
                print(f"  {t:5.0f}   {rate:8.2f}/s      {(calls - past[4]) / span:7.2f}/s         "
                      f"{(done - past[2]) / span:7.2f}/s         {refusals:6d}")
        # The steady state: the middle half of the run (after the first storm, before the tail).
        middle = [s for s in samples if total_s * 0.25 <= s[0] <= total_s * 0.75]
        held_rate = statistics.median(s[1] for s in middle)
        sent_rate = (middle[-1][4] - middle[0][4]) / (middle[-1][0] - middle[0][0])
        steady_refused = middle[-1][3] - middle[0][3]
        times = sorted(datetime.fromisoformat(m["date_created"]) for m in accepted)
        per_second = Counter(int((t - times[0]).total_seconds()) for t in times)
        seconds = sorted(per_second)[len(per_second) // 4: 3 * len(per_second) // 4]
        gateway_rate = statistics.median(per_second[s] for s in seconds) if seconds else 0.0
        overall = (len(times) - 1) / (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0
        print(f"  rate held, middle half of the run: limiter {held_rate:.2f}/s (median effective rate), "
              f"sent {sent_rate:.2f}/s = {sent_rate / args.cap:.0%} of the cap, {sent_rate / args.rate:.0%} of the "
              f"configured rate; {steady_refused} 429s in that half")
        print(f"  accepted by the gateway: median {gateway_rate:.0f} texts/s per second (middle half), "
              f"{overall:.2f}/s over the whole run ({total_s:.0f} s for {args.n})")
        print(f"  429s seen: {refused} ({refused / args.n:.1%} of the texts); texts held back: "
              f"{held.get(False, 0)} on a 429, {held.get(True, 0)} by the limiter before sending (a void slot)")
        print(f"  texts failed: {failed}; duplicates at the gateway: {duplicates}; most gateway calls for one text: "
              f"{max_attempts}")
        print(f"  limiter at the end: {samples[-1][1]:.2f}/s")
    finally:
        stop(procs, 15)


if __name__ == "__main__":
    main()
