"""Aliyun benchmark (not a test): texts per second through the aliyun adapter (the official SDK)
against the Dysmsapi simulator in its own process, SendSms (one call per text, all concurrent) and
SendBatchSms (up to --batch texts per call) in the same run, with the client's CPU per text.
Each figure is the median of --runs runs.

    .venv/bin/python bench/aliyun_batch_bench.py [-n 1000] [--batch 100] [--latency-ms 50] [--runs 3]

No database, no Redis: the adapter alone, as a send worker drives it (send_many of one batch).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench._common import free_port  # noqa: E402
from notifier.gateways.aliyun.adapter import AliyunGateway  # noqa: E402
from notifier.gateways.base import ACCEPTED, Outbound  # noqa: E402
from notifier.simulator.aliyun import (  # noqa: E402
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_SIGN_NAME,
)


def start_simulator(latency_ms):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "notifier.simulator.aliyun", "--port", str(port), "--quiet",
                             "--latency-ms", str(latency_ms), "--set", "per_number_per_day=0"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/_sim/health", timeout=1).raise_for_status()
            return proc, url
        except requests.RequestException:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def run(url, n, batch, offset):
    gateway = AliyunGateway(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_SIGN_NAME, url, timeout=60,
                            batch_size=batch)
    items = [Outbound(offset + i, f"+86138{offset + i:08d}", DEFAULT_SIGN_NAME, template_code="SMS_480000002",
                      template_params={"name": f"代表{i}", "content": "周五上午九时开常委会"}) for i in range(n)]
    cpu, wall = time.process_time(), time.monotonic()
    results = gateway.send_many(items)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    accepted = sum(r.outcome == ACCEPTED for r in results)
    if accepted != n:
        raise SystemExit(f"only {accepted} of {n} accepted: {results[0]}")
    return n / wall, cpu / n * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    proc, url = start_simulator(args.latency_ms)
    try:
        figures = {"SendSms": [], "SendBatchSms": []}
        offset = 0
        for _ in range(args.runs):
            for name, size in (("SendSms", 1), ("SendBatchSms", args.batch)):
                figures[name].append(run(url, args.n, size, offset))
                offset += args.n
        print(f"{args.n} texts, simulator latency {args.latency_ms} ms, median of {args.runs} runs")
        rates = {}
        for name, runs in figures.items():
            rates[name] = statistics.median(r for r, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"  {name:13} {rates[name]:8.0f} texts/s   client CPU {cpu:.2f} ms per text")
        print(f"  SendBatchSms / SendSms: {rates['SendBatchSms'] / rates['SendSms']:.1f}x")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
