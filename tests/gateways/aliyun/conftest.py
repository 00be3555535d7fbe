"""Aliyun fixtures: the Dysmsapi simulator (in-process, or its own process next to workers) and
the test app pointed at it, the official SDK talking to it over HTTP."""
import socket
import subprocess
import sys
import time

import pytest
import requests

from notifier.simulator.aliyun import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_SIGN_NAME,
    AliyunSimulatorServer,
)
from tests.delivery.conftest import ROOT

TOKEN = "cb-token-for-tests-0123456789"
TEMPLATE = "SMS_480000002"  # the simulator's "${name}代表您好，${content}"


class AliyunProcess:
    """`python -m notifier.simulator.aliyun` in its own process, driven over /_sim/."""

    def __init__(self, tmp_path, **options):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / "aliyun-simulator.log", "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "notifier.simulator.aliyun", "--port", str(self.port),
                                      "--quiet"], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
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

    def reply(self, phone, content):
        return requests.post(f"{self.url}/_sim/reply", json={"phone_number": phone, "content": content},
                             timeout=30).json()

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
def aliyun_sim():
    server = AliyunSimulatorServer(seed=11, report_after_ms="20").start()
    yield server
    server.stop()


@pytest.fixture
def aliyun_sim_process(tmp_path):
    server = AliyunProcess(tmp_path, seed=11, report_after_ms="20")
    yield server
    server.stop()


def aliyun_settings(url, **extra):
    return {"SMS_GATEWAY": "aliyun", "ALIYUN_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
            "ALIYUN_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET, "ALIYUN_SMS_ENDPOINT": url,
            "ALIYUN_SMS_SIGN_NAME": DEFAULT_SIGN_NAME, "ALIYUN_CALLBACK_TOKEN": TOKEN, "ALIYUN_HTTP_TIMEOUT": 4.0,
            "ALIYUN_SMS_BATCH_SIZE": 1, "ALIYUN_CALLBACK_ALLOW": "",
            **extra}


@pytest.fixture
def actx(dctx, request):
    """The app context of the delivery tests, with aliyun as the only gateway."""
    server = request.getfixturevalue("aliyun_sim_process" if "aliyun_sim_process" in request.fixturenames
                                     else "aliyun_sim")
    changes = aliyun_settings(server.url)
    saved = {k: dctx.config.get(k) for k in changes}
    dctx.config.update(changes)
    for key in ("sms_gateways", "sms_limiters", "gateway_redis"):
        dctx.extensions.pop(key, None)
    yield dctx
    dctx.config.update(saved)
    for key in ("sms_gateways", "sms_limiters", "gateway_redis"):
        dctx.extensions.pop(key, None)
