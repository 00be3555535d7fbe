"""Set-up shared by the benchmarks that run the platform against the Twilio simulator: the
settings, a fresh schema, the simulator and Celery worker processes, waiting for the texts, and
stopping the processes."""
import os
import signal
import socket
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_urls(parser):
    """BENCH_DATABASE_URL and BENCH_REDIS_URL, or a usage error."""
    db_url, redis_url = os.environ.get("BENCH_DATABASE_URL"), os.environ.get("BENCH_REDIS_URL")
    if not db_url or not redis_url:
        parser.error("set BENCH_DATABASE_URL and BENCH_REDIS_URL (they are reset by the benchmark)")
    return db_url, redis_url


def platform_env(db_url, redis_url, sim_url, **settings):
    """Point this process (and the returned environment, for workers) at the bench database, Redis
    and the simulator; `settings` (strings) add to or override the defaults."""
    from notifier.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    settings = {
        "NOTIFIER_ENV": "testing", "TEST_DATABASE_URL": db_url, "TEST_REDIS_URL": redis_url,
        # Web-less: nobody listens for status callbacks (the simulator gives up on them at once).
        "TEST_PUBLIC_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_API_BASE_URL": sim_url, "TWILIO_FROM_NUMBER": "+15005550006",
        "SMS_RATE_LIMIT": "100000", "TWILIO_HTTP_TIMEOUT": "30", "SMS_REQUEUE_AFTER_SECONDS": "3000",
        # As shipped (the test settings keep every exchange): failures and 5% of the rest.
        "SMS_EXCHANGE_SAMPLE": "0.05",
        "PYTHONPATH": ROOT, **settings,
    }
    os.environ.update(settings)
    return {**os.environ, **settings}


def fresh_schema(app):
    """Drop the bench database's schema and build it again by the migrations."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from notifier.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()


def start_simulator(port, latency_ms, lean=False):
    """The Twilio simulator, or with `lean` the benchmarks' lean stand-in (bench/_standin.py)."""
    command = ([sys.executable, os.path.join(ROOT, "bench", "_standin.py")] if lean
               else [sys.executable, "-m", "notifier.simulator", "--quiet"])
    return subprocess.Popen(command + ["--port", str(port), "--latency-ms", str(latency_ms)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def configure_simulator(sim_url):
    """Wait (up to about 10 s) for the simulator to answer. Web-less: it posts no status
    callbacks (posting them to a closed port cost the stand-in half its CPU, on the same cores)."""
    for _ in range(100):
        try:
            requests.get(f"{sim_url}/_sim/health", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    requests.post(f"{sim_url}/_sim/config", json={"callback_statuses": [], "callback_retries": 0, "callback_timeout": 0.5}, timeout=5)


def start_workers(name, log_name, count, concurrency, env, loglevel, queues=None, code_dir=ROOT):
    """`count` Celery worker processes named name0, name1, ...; logs in /tmp/<log_name>-worker<i>.log.
    `concurrency` 0: as `celery -A workers worker` starts with no options. `code_dir`: whose code
    they run (see _baseline.baseline_tree).
    `queues` ("send", "periodic,callbacks"): what they consume; every queue when None."""
    procs = {}
    for w in range(count):
        log = open(f"/tmp/{log_name}-worker{w}.log", "w")  # noqa: SIM115
        command = [sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel", loglevel,
                   "-n", f"{name}{w}@%h", "--without-gossip", "--without-mingle"]
        if concurrency:  # 0: the out-of-the-box worker's own (workers/app.py)
            command += ["--concurrency", str(concurrency)]
        procs[f"{name}{w}"] = subprocess.Popen(command + (["-Q", queues] if queues else []), cwd=code_dir,
                                               env={**env, "PYTHONPATH": code_dir},
                                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return procs


def wait_for_texts(sim_url, n, started, poll_first, poll_rest):
    """Poll the simulator until it has accepted `n` texts (an hour at most); returns the seconds
    from `started` to the first and to the last."""
    first = None
    while True:
        count = requests.get(f"{sim_url}/_sim/stats", timeout=10).json()["messages"]
        now = time.monotonic()
        if count and first is None:
            first = now - started
        if count >= n:
            return first, time.monotonic() - started
        if now - started > 3600:
            raise SystemExit(f"gave up: {count} of {n} accepted")
        time.sleep(poll_first if first is None else poll_rest)


def stop(procs, timeout):
    """SIGTERM each process still running (a Celery worker then shuts its pool down warm), SIGKILL
    the process groups of those not gone after `timeout` seconds."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def yardstick():
    """CPU seconds of a fixed piece of pure Python: this shared machine's speed varies by tens of
    percent from hour to hour, so figures from different runs are compared through it."""
    started = time.process_time()
    sum(i * i for i in range(3_000_000))
    return time.process_time() - started
