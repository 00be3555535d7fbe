"""Benchmark (not a test) of the cluster-wide segment rate limiter.

1. Capacity: N processes call reserve() as fast as they can for a few seconds, and we report how
   many reservations per second the limiter itself handles (median of runs), both when every call
   is granted (rate effectively unbounded, the full write path) and when almost every call is
   refused (rate far below demand, max_wait=0: the cheap path busy workers hit).
   It also reports Redis's own CPU time per script call (from INFO commandstats, read-only), which
   does not depend on how busy the client machine is: the ceiling one Redis can serve.
2. Fidelity: N processes reserve, sleep as told and "send" at a target rate; we report the
   achieved rate and the busiest one-second sliding window.

    python3 bench/ratelimit_bench.py [--redis-url URL] [--processes 4] [--seconds 3] [--runs 3]
                                     [--rates 20,100]

Uses keys under a random prefix in the given Redis db and deletes them afterwards.
"""
import argparse
import multiprocessing
import os
import statistics
import time
import uuid

import redis

from notifier.delivery.ratelimit import SegmentRateLimiter

SENDER = "+8610000"


def _hammer(url, prefix, rate, seconds, barrier, results):
    limiter = SegmentRateLimiter(redis.Redis.from_url(url), rate, key_prefix=prefix)
    limiter.next_free_in(SENDER)  # load the scripts before the clock starts
    barrier.wait()
    calls = granted = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if limiter.reserve(SENDER, 1, max_wait=0) is not None:
            granted += 1
        calls += 1
    results.put((calls, granted))


def _send(url, prefix, rate, seconds, barrier, results):
    limiter = SegmentRateLimiter(redis.Redis.from_url(url), rate, key_prefix=prefix)
    barrier.wait()
    sent, refused = [], 0
    end = time.time() + seconds
    while time.time() < end:
        wait = limiter.reserve(SENDER, 1, max_wait=5.0)
        if wait is None:
            refused += 1
            time.sleep(0.05)
            continue
        time.sleep(wait)
        sent.append(time.time())
    results.put((sent, refused))


def _run(target, url, rate, processes, seconds):
    ctx = multiprocessing.get_context("spawn")
    prefix = f"bench:rate:{uuid.uuid4().hex}"
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=target, args=(url, prefix, rate, seconds, barrier, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    out = [results.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    return out


def _evalsha_stats(url):
    stats = redis.Redis.from_url(url).info("commandstats").get("cmdstat_evalsha", {})
    return stats.get("calls", 0), stats.get("usec", 0)


def capacity(url, processes, seconds, runs):
    for label, rate in (("granted (rate 1e9/s)", 1e9), ("refused (rate 1/s, max_wait=0)", 1.0)):
        per_run, server_us = [], []
        for _ in range(runs):
            calls0, usec0 = _evalsha_stats(url)
            out = _run(_hammer, url, rate, processes, seconds)
            calls1, usec1 = _evalsha_stats(url)
            per_run.append(sum(calls for calls, _ in out) / seconds)
            # Redis CPU per script call (approximate: other clients' EVALSHA count too).
            server_us.append((usec1 - usec0) / max(calls1 - calls0, 1))
        us = statistics.median(server_us)
        print(
            f"capacity, {label}: median {statistics.median(per_run):,.0f} reservations/s "
            f"with {processes} processes (runs: {', '.join(f'{r:,.0f}' for r in per_run)}); "
            f"Redis CPU {us:.1f} us/call, i.e. a ceiling of ~{1e6 / us:,.0f}/s for one Redis"
        )


def fidelity(url, rate, processes, seconds, runs):
    for _ in range(runs):
        out = _run(_send, url, rate, processes, seconds)
        sends = sorted(t for sent, _ in out for t in sent)
        refused = sum(r for _, r in out)
        achieved = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else 0.0
        busiest = max(
            (sum(1 for t in sends[i:] if t < start + 1.0) for i, start in enumerate(sends)),
            default=0,
        )
        print(
            f"fidelity, target {rate:g}/s, {processes} processes: achieved {achieved:.2f}/s "
            f"({(achieved - rate) / rate:+.1%}), busiest 1 s window {busiest}, "
            f"{len(sends)} sends, {refused} refused"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/15",
    )
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rates", default="20,100", help="comma-separated target rates for fidelity")
    args = parser.parse_args()
    print(f"Redis {args.redis_url}, {os.cpu_count()} CPUs")
    capacity(args.redis_url, args.processes, args.seconds, args.runs)
    for rate in (float(r) for r in args.rates.split(",")):
        fidelity(args.redis_url, rate, args.processes, args.seconds, 1)


if __name__ == "__main__":
    main()
