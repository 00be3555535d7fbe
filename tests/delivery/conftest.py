"""Delivery fixtures: the Twilio simulator over HTTP, a live web server for its callbacks, and
real Celery worker processes pointed at the test database and Redis."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from notifier.extensions import db
from notifier.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SimulatorServer

FROM_NUMBER = "+15005550006"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class SimulatorProcess:
    """`python -m notifier.simulator` in its own process (so it does not share the test's GIL),
    driven over its /_sim/ control API; the same surface as SimulatorServer."""

    module, log_name = "notifier.simulator", "simulator.log"  # another simulator: a subclass names its own

    def __init__(self, tmp_path, **options):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.account_sid, self.auth_token = DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
        self.log = open(tmp_path / self.log_name, "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, "--port", str(self.port), "--quiet"],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.url}/_sim/health", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)
        self.configure(**options)

    def configure(self, **options):
        response = requests.post(f"{self.url}/_sim/config", json=options, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    @property
    def accepted(self):
        return requests.get(f"{self.url}/_sim/messages", timeout=30).json()["messages"]

    def stats(self):
        return requests.get(f"{self.url}/_sim/stats", timeout=10).json()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture
def sim(tmp_path):
    """The simulator over HTTP: in-process for unit tests, its own process next to workers."""
    server = SimulatorServer(sent_after_ms=20, final_after_ms=50, seed=7).start()
    yield server
    server.stop()


@pytest.fixture
def sim_process(tmp_path):
    server = SimulatorProcess(tmp_path, sent_after_ms=20, final_after_ms=50, seed=7)
    yield server
    server.stop()


@pytest.fixture
def live_url(app):
    """The app served over HTTP on a free port (the simulator posts its status callbacks here)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


DELIVERY_SETTINGS = {
    "SMS_RATE_LIMIT": 1000.0,
    "SMS_MAX_ATTEMPTS": 6,
    "SMS_RETRY_BASE_SECONDS": 0.2,
    "SMS_RETRY_MAX_SECONDS": 2.0,
    # Reconcile only after the gateway has surely finished with a call we stopped waiting for.
    "SMS_RECONCILE_DELAY_SECONDS": 8.0,
    "SMS_SEND_LEASE_SECONDS": 15,
    "SMS_REQUEUE_AFTER_SECONDS": 10,
    "SMS_SWEEP_INTERVAL_SECONDS": 2.0,
    "SMS_RATE_MAX_WAIT": 2.0,
    "TWILIO_HTTP_TIMEOUT": 4.0,
    "SEND_BATCH_SIZE": 50,
}


@pytest.fixture
def delivery_app(app, request):
    """The test app pointed at the simulator, with quick retry/lease settings (restored after)."""
    url = request.getfixturevalue("live_url") if "live_url" in request.fixturenames else "http://localhost"
    sim = request.getfixturevalue("sim_process" if "sim_process" in request.fixturenames else "sim")
    changes = {
        **DELIVERY_SETTINGS,
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_API_BASE_URL": sim.url,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_MESSAGING_SERVICE_SID": None,
        "PUBLIC_BASE_URL": url,
    }
    saved = {k: app.config.get(k) for k in changes}
    app.config.update(changes)
    for key in ("sms_gateways", "sms_limiters", "gateway_redis"):
        app.extensions.pop(key, None)
    yield app
    app.config.update(saved)
    for key in ("sms_gateways", "sms_limiters", "gateway_redis"):
        app.extensions.pop(key, None)


@pytest.fixture
def dctx(delivery_app):
    with delivery_app.app_context():
        yield delivery_app
        db.session.remove()


class Workers:
    """Start and stop `celery -A workers worker` processes with the test settings."""

    def __init__(self, app, sim, public_url, tmp_path):
        self.app, self.sim, self.public_url, self.tmp_path = app, sim, public_url, tmp_path
        self.procs = []

    def env(self, **extra):
        env = dict(os.environ)
        env.update({
            "NOTIFIER_ENV": "testing",
            "TEST_DATABASE_URL": self.app.config["SQLALCHEMY_DATABASE_URI"],
            "TEST_REDIS_URL": self.app.config["REDIS_URL"],
            "TEST_PUBLIC_BASE_URL": self.public_url,
            "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
            "TWILIO_API_BASE_URL": self.sim.url,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "PYTHONPATH": ROOT,
        })
        env.update({k: str(v) for k, v in DELIVERY_SETTINGS.items()})
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def start(self, name="w", beat=False, concurrency=4, **settings):
        log = self.tmp_path / f"{name}-{len(self.procs)}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel", "INFO",
               "-n", f"{name}{len(self.procs)}@%h", "--concurrency", str(concurrency), "--without-gossip",
               "--without-mingle"]
        if beat:
            cmd += ["-B", "--schedule", str(self.tmp_path / f"beat-{len(self.procs)}")]
        handle = open(log, "w")  # noqa: SIM115  (closed in stop)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env(**settings), stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log_path, proc.log_handle = log, handle
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if " ready." in log.read_text():
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker did not start:\n{log.read_text()[-3000:]}")

    def kill(self, proc, sig=signal.SIGKILL):
        """Kill the worker's whole process group (the worker and its embedded beat, if any)."""
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(30)

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the main process: a warm shutdown of its pool
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            proc.log_handle.close()
            print(f"--- {proc.log_path.name} (last lines) ---")  # shown by pytest when a test fails
            print(proc.log_path.read_text()[-4000:])


@pytest.fixture
def workers(sim_process, live_url, delivery_app, tmp_path):
    pool = Workers(delivery_app, sim_process, live_url, tmp_path)
    yield pool
    pool.stop_all()
