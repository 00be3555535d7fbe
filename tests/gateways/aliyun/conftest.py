"""Aliyun fixtures: the Dysmsapi simulator (in-process, or its own process next to workers) and
the test app pointed at it, the official SDK talking to it over HTTP."""

import pytest
import requests

from notifier.simulator.aliyun import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_SIGN_NAME,
    AliyunSimulatorServer,
)
from tests.delivery.conftest import SimulatorProcess

TOKEN = "cb-token-for-tests-0123456789"
TEMPLATE = "SMS_480000002"  # the simulator's "${name}代表您好，${content}"


class AliyunProcess(SimulatorProcess):
    """`python -m notifier.simulator.aliyun` in its own process, driven over /_sim/."""

    module, log_name = "notifier.simulator.aliyun", "aliyun-simulator.log"

    def reply(self, phone, content):
        return requests.post(f"{self.url}/_sim/reply", json={"phone_number": phone, "content": content},
                             timeout=30).json()


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
