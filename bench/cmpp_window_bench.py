"""CMPP window benchmark (not a test): texts per second through one client Session with a window
of 16 against the ISMG simulator (its own process) at 20 ms and 150 ms of SUBMIT latency, against
a sequential submit-and-wait loop in the same run (the window's ratio), and the client process's
CPU per text. Each figure is the median of --runs runs.

    .venv/bin/python bench/cmpp_window_bench.py [--runs 3] [--window 16]

Texts are one-part Chinese notices (one SUBMIT each) with status reports on: the client answers
every report, and that CPU is counted, as the connector will spend it. The simulator's CPU per
text is shown too: at 20 ms it, not the window, is what caps the rate on a 2-core machine. No
database, no Redis.
"""
import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time

import psutil
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from notifier.gateways.cmpp.session import ACCEPTED, Session, Settings  # noqa: E402

TEXT = "【县人大常委会】请各位代表于3月15日上午9时到县人大常委会第一会议室参加会议。回复1确认"
# Texts per run: enough for a few seconds at the rate each mode can reach.
WINDOWED = {20: 3000, 150: 800}
SEQUENTIAL = {20: 150, 150: 40}
READY = re.compile(r"on (?P<host>[\d.]+):(?P<port>\d+) .* control (?P<control>http://\S+?)/_sim/")


def start_simulator():
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier.simulator.cmpp", "--port", "0", "--control-port", "0",
         "--quiet", "--set", "report_after_ms=20"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found = READY.search(proc.stdout.readline())
    if not found:
        proc.kill()
        raise SystemExit("the simulator did not start")
    return proc, found["host"], int(found["port"]), found["control"]


class Reports:
    def __init__(self):
        self.count = 0

    async def __call__(self, event):
        self.count += 1


async def one_run(settings, texts, windowed, simulator):
    """(texts per second, client CPU s per text, simulator CPU s per text) for one run."""
    reports = Reports()
    async with Session(settings, on_deliver=reports) as session:
        await session.wait_ready(10)
        cpu, started = time.process_time(), time.perf_counter()
        sim_cpu = sum(simulator.cpu_times()[:2])
        numbers = [f"+86139{i:08d}" for i in range(texts)]
        if windowed:
            results = await asyncio.gather(*(session.submit(n, TEXT) for n in numbers))
        else:
            results = [await session.submit(n, TEXT) for n in numbers]
        elapsed = time.perf_counter() - started
        while reports.count < texts:  # every report answered: its CPU is part of a text's cost
            await asyncio.sleep(0.01)
        cpu = time.process_time() - cpu
        sim_cpu = sum(simulator.cpu_times()[:2]) - sim_cpu
    if any(r.outcome != ACCEPTED for r in results):
        raise SystemExit(f"not all accepted: {[r.outcome for r in results if r.outcome != ACCEPTED][:5]}")
    return texts / elapsed, cpu / texts, sim_cpu / texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=16)
    args = parser.parse_args()

    proc, host, port, control = start_simulator()
    simulator = psutil.Process(proc.pid)
    settings = Settings(host=host, port=port, sp_id="900001", shared_secret="simulator-secret",
                        src_id="1065712345", window=args.window)
    rows = []
    try:
        for latency in (20, 150):
            requests.post(f"{control}/_sim/config", json={"latency_ms": latency}, timeout=5)
            window, sequential = [], []
            for _ in range(args.runs):
                window.append(asyncio.run(one_run(settings, WINDOWED[latency], True, simulator)))
                sequential.append(asyncio.run(one_run(settings, SEQUENTIAL[latency], False, simulator)))
                requests.post(f"{control}/_sim/reset", timeout=5)
            rate = statistics.median(r for r, _, _ in window)
            base = statistics.median(r for r, _, _ in sequential)
            rows.append((latency, rate, base, rate / base,
                         statistics.median(c for _, c, _ in window) * 1000,
                         statistics.median(c for _, c, _ in sequential) * 1000,
                         statistics.median(c for _, _, c in window) * 1000))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)

    print(f"one session, window {args.window}, medians of {args.runs} runs "
          f"({WINDOWED} windowed / {SEQUENTIAL} sequential texts per run)")
    print(f"{'latency':>8} {'window/s':>10} {'sequential/s':>13} {'ratio':>7} "
          f"{'client CPU ms/text':>19} {'(sequential)':>13} {'simulator CPU ms/text':>22}")
    for latency, rate, base, ratio, cpu, cpu_seq, sim_cpu in rows:
        print(f"{latency:>6}ms {rate:>10.1f} {base:>13.1f} {ratio:>6.1f}x {cpu:>19.3f} "
              f"{cpu_seq:>13.3f} {sim_cpu:>22.3f}")


if __name__ == "__main__":
    main()
