"""The ISMG simulator in a process of its own, for the tests that talk CMPP to it over TCP."""
import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from notifier.gateways.cmpp.session import Settings
from notifier.simulator.cmpp.config import DEFAULT_SECRET, DEFAULT_SP_ID, DEFAULT_SRC_ID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY = re.compile(r"on (?P<host>[\d.]+):(?P<port>\d+) .* control (?P<control>http://\S+?)/_sim/")

# Test timers: seconds where a deployment waits minutes.
FAST = {
    "reconnect_min": 0.05,
    "reconnect_max": 0.5,
    "submit_wait": 10.0,
    "response_timeout": 10.0,
    "connect_timeout": 5.0,
    "close_timeout": 5.0,
}


def run(coro, timeout=120):
    """Run a test's coroutine on a fresh loop in a thread of its own: the browser tests'
    session-wide Playwright keeps a loop running on the main thread, where asyncio.run refuses.
    The timeout guards against hanging; it is not a timing check."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout)).result()


def session_settings(host, port, **overrides):
    """Session settings for the simulator's account, with quick timers."""
    values = {
        "host": host, "port": port, "sp_id": DEFAULT_SP_ID, "shared_secret": DEFAULT_SECRET,
        "src_id": DEFAULT_SRC_ID, **FAST, **overrides,
    }
    return Settings(**values)


class CmppSim:
    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "notifier.simulator.cmpp", "--port", "0", "--control-port", "0",
             "--quiet", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        line = self.proc.stdout.readline()
        found = READY.search(line)
        if not found:
            self.proc.kill()
            raise RuntimeError(f"the simulator did not start: {line!r} {self.proc.stderr.read()}")
        self.host, self.port = found["host"], int(found["port"])
        self.url = found["control"]
        self.http = requests.Session()
        self.baseline = self.get("/_sim/config")

    def get(self, path, **params):
        response = self.http.get(self.url + path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path, json=None):
        return self.http.post(self.url + path, json=json, timeout=10)

    def configure(self, **options):
        response = self.post("/_sim/config", options)
        assert response.status_code == 200, response.text
        return response.json()

    def restore(self):
        """The settings it started with, no texts, no counters, nobody connected."""
        self.configure(**{k: v for k, v in self.baseline.items()})
        self.post("/_sim/drop")
        self.post("/_sim/reset")

    def stats(self):
        return self.get("/_sim/stats")

    def messages(self, **filters):
        return self.get("/_sim/messages", **filters)["messages"]

    def mo(self, sender, dest_id, text, msg_fmt=8):
        response = self.post(
            "/_sim/mo", {"from": sender, "dest_id": dest_id, "text": text, "msg_fmt": msg_fmt}
        )
        assert response.status_code == 201, response.text
        return response.json()

    def settings(self, **overrides):
        return session_settings(self.host, self.port, **overrides)

    def wait_until(self, condition, timeout=20, what="the condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def stop(self):
        """SIGTERM, as docker stop or a supervisor does; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode
