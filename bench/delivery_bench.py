"""Delivery throughput benchmark (not a test): N messages through web-less dispatch, Celery
worker(s) and the Twilio simulator with 150 ms latency and no cap, against a plain sequential loop
calling the twilio client (the baseline).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 python bench/delivery_bench.py [-n 10000] [--workers 1] \\
        [--runs 3] [--before REV]

With --before, workers running a git revision's code take turns with this code's, the same texts
against the same simulator, and the medians of each are compared.

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt, and BENCH_REDIS_URL is flushed: give
it a database and a Redis db of its own. Reports messages/s accepted by the gateway, time to the
first accepted message, CPU seconds and peak RSS per process, and the ratio to the baseline.
"""
import argparse
import os
import statistics
import threading
import time

import psutil
import redis
import requests
from _baseline import baseline_tree
from _common import (
    ROOT,
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


class Sampler(threading.Thread):
    """Peak RSS of some processes (with their children), sampled every 0.2 s."""

    def __init__(self, procs):
        super().__init__(daemon=True)
        self.procs = procs  # name -> psutil.Process
        self.peak = dict.fromkeys(procs, 0)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.2):
            for name, proc in self.procs.items():
                family = [proc] if proc.pid == os.getpid() else [proc, *proc.children(recursive=True)]
                try:
                    rss = sum(p.memory_info().rss for p in family)
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss)


def cpu_seconds(proc, children=True):
    total = 0.0
    for p in [proc, *(proc.children(recursive=True) if children else [])]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def service_cpu():
    """CPU seconds so far of the PostgreSQL and Redis servers on this machine (every process of
    each, as long as it lives: a backend that exits during the run takes its share with it)."""
    totals = {"postgresql (server)": 0.0, "redis (server)": 0.0}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name = proc.info["name"] or ""
        key = "postgresql (server)" if name.startswith("postgres") else "redis (server)" if name.startswith("redis") else None
        if key and proc.info["cpu_times"]:
            totals[key] += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return totals


def one_run(app, args, env, sim_url, code_dir):
    """N texts queued at once and sent by workers running `code_dir`'s code; returns the figures."""
    from notifier.delivery.outbox import create_messages, enqueue
    from notifier.extensions import db

    fresh_schema(app)
    redis.Redis.from_url(env["TEST_REDIS_URL"]).flushdb()
    requests.post(f"{sim_url}/_sim/reset", timeout=5)
    configure_simulator(sim_url)
    procs = start_workers("bench", "delivery-bench", args.workers, args.concurrency, env, "WARNING", code_dir=code_dir)
    try:
        time.sleep(6)  # worker start-up is not part of the run
        ps = {name: psutil.Process(p.pid) for name, p in procs.items()}
        ps["simulator"] = psutil.Process(args.simulator_pid)
        ps["dispatch (this process)"] = psutil.Process()
        cpu_before = {name: cpu_seconds(p, p.pid != os.getpid()) for name, p in ps.items()}
        services_before = service_cpu()
        sampler = Sampler(ps)
        sampler.start()
        with app.app_context():
            started = time.monotonic()
            rows = create_messages([{"to": f"+86138{i:08d}", "body": f"【县人大常委会】基准测试第{i}条。"}
                                    for i in range(args.n)])
            enqueue([r.id for r in rows])
            dispatched_s = time.monotonic() - started
            db.session.remove()
        first, total_s = wait_for_texts(sim_url, args.n, started, 0.05, 0.5)
        sampler.stop.set()
        cpu = {name: cpu_seconds(p, p.pid != os.getpid()) - cpu_before[name] for name, p in ps.items()}
        cpu.update({name: seconds - services_before.get(name, 0.0) for name, seconds in service_cpu().items()})
        stats = requests.get(f"{sim_url}/_sim/stats", timeout=10).json()
        accepted = requests.get(f"{sim_url}/_sim/messages", timeout=60).json()["messages"]
        return {"rate": args.n / total_s, "sending": args.n / (total_s - dispatched_s), "first": first,
                "last": total_s, "dispatched": dispatched_s,
                "duplicates": len(accepted) - len({(m["to"], m["body"]) for m in accepted}),
                "in_flight": stats.get("peak_in_flight"), "cpu": cpu, "peak": dict(sampler.peak)}
    finally:
        stop(procs, 15)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10000, help="messages through the platform (default 10000)")
    parser.add_argument("--baseline-n", type=int, default=100,
                        help="messages for the sequential baseline (default 100; extrapolated to N)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="threads per worker (default 0: the out-of-the-box worker's own)")
    parser.add_argument("--batch", type=int, default=100, help="SEND_BATCH_SIZE: messages per task")
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--stand-in", choices=("lean", "simulator"), default="lean",
                        help="the gateway: bench/_standin.py (default; cheap, so the platform is what is "
                             "measured) or the full simulator (itself about 1 ms of CPU per text)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each code (medians are reported)")
    parser.add_argument("--before", default="",
                        help="a git revision whose workers run too, alternating with this code's (e.g. main~5)")
    args = parser.parse_args()
    db_url, redis_url = bench_urls(parser)
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    env = platform_env(db_url, redis_url, sim_url, SEND_BATCH_SIZE=str(args.batch))

    from notifier import create_app
    from notifier.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url, REDIS_URL=redis_url,
                     SEND_BATCH_SIZE=args.batch, TWILIO_API_BASE_URL=sim_url)
    codes = {"this code": ROOT}
    if args.before:
        codes = {f"before ({args.before})": baseline_tree(args.before), **codes}
    simulator = start_simulator(port, args.latency_ms, lean=args.stand_in == "lean")
    args.simulator_pid = simulator.pid
    try:
        configure_simulator(sim_url)
        # Baseline: a plain sequential loop of the official client, same gateway, same latency.
        from twilio.rest import Client

        client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
        client.api.base_url = sim_url
        started = time.monotonic()
        for i in range(args.baseline_n):
            client.messages.create(to=f"+8613900{i:06d}", from_="+15005550006", body=f"baseline {i}")
        baseline_rate = args.baseline_n / (time.monotonic() - started)

        speed = [yardstick()]
        results = {label: [] for label in codes}
        for run in range(args.runs):
            for label, code_dir in codes.items():
                result = one_run(app, args, env, sim_url, code_dir)
                results[label].append(result)
                print(f"run {run + 1} {label}: {result['rate']:.1f} texts/s, first after {result['first']:.2f}s, "
                      f"last {result['last']:.2f}s, duplicates {result['duplicates']}", flush=True)
        speed.append(yardstick())
    finally:
        stop({"simulator": simulator}, 15)

    print(f"\nDelivery benchmark: N={args.n}, {args.workers} worker(s) x {args.concurrency or 'default'} threads, "
          f"batch {args.batch}, gateway {args.stand_in} at {args.latency_ms:g} ms, no cap; medians of {args.runs} run(s)")
    print(f"  baseline: sequential twilio client, {baseline_rate:.2f} texts/s; machine yardstick "
          f"{speed[0] * 1000:.0f} ms before the runs, {speed[1] * 1000:.0f} ms after (lower is faster)")
    medians = {}
    for label, runs in results.items():
        med = {key: statistics.median(r[key] for r in runs) for key in ("rate", "sending", "first", "last", "dispatched")}
        med["cpu"] = {name: statistics.median(r["cpu"][name] for r in runs) / args.n * 1000 for name in runs[0]["cpu"]}
        med["peak"] = {name: statistics.median(r["peak"][name] for r in runs) / 2**20 for name in runs[0]["peak"]}
        medians[label] = med
        print(f"  {label}: {med['rate']:.1f} texts/s ({med['rate'] / baseline_rate:.1f}x the baseline), "
              f"first after {med['first']:.2f}s, last {med['last']:.2f}s (queued by {med['dispatched']:.2f}s, "
              f"then {med['sending']:.1f} texts/s), duplicates {sum(r['duplicates'] for r in runs)}")
        for name, ms in med["cpu"].items():
            peak = f"  peak {med['peak'][name]:7.1f} MiB" if name in med["peak"] else ""
            print(f"    {name:<24} {ms:.3f} ms CPU per text{peak}")
    if len(medians) == 2:
        (_, old), (_, new) = medians.items()
        worker = [name for name in new["cpu"] if name.startswith("bench")]
        old_cpu, new_cpu = sum(old["cpu"][w] for w in worker), sum(new["cpu"][w] for w in worker)
        print(f"  this code vs before: {new['rate'] / old['rate']:.2f}x the rate, worker CPU per text "
              f"{new_cpu:.3f} vs {old_cpu:.3f} ms ({new_cpu / old_cpu:.2f}x)")


if __name__ == "__main__":
    main()
