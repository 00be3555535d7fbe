"""Each gateway with its simulator, behind one surface, so that one suite (test_contract.py)
holds every adapter to the same contract. A pair starts the platform's side (Celery workers, and
the connector process for a connector gateway) and drives the gateway's side (its simulator over
HTTP or TCP): what reached it, a number it refuses, a number its carrier cannot reach, a pace it
allows, credentials it stops accepting, a deputy texting back.

A new gateway joins by adding its pair here and its name to PAIRS."""
from collections import Counter

import pytest
import requests

from notifier.extensions import db
from notifier.gateways import health
from notifier.simulator import DEFAULT_AUTH_TOKEN
from tests.conftest import wait_until
from tests.delivery.conftest import FROM_NUMBER
from tests.gateways.conftest import cmpp_env

# Quick health timers: a gateway not up is asked again every 2 s, a connector logs in again
# within 2 s, texts no gateway may carry wait 2 s before they are looked at again.
QUICK = {"GATEWAY_PROBE_SECONDS": 2, "GATEWAY_HOLD_SECONDS": 2, "CMPP_RECONNECT_MAX_SECONDS": 2}


def e164(number):
    return "+86" + number.removeprefix("+86").removeprefix("86")


class TwilioPair:
    name = "twilio"

    def __init__(self, request):
        self.sim = request.getfixturevalue("sim_process")
        self.workers = request.getfixturevalue("workers")
        self.app = request.getfixturevalue("delivery_app")
        self.sender = FROM_NUMBER
        self.sim.configure(inbound_url=request.getfixturevalue("live_url") + "/webhooks/twilio/inbound")

    def start(self, **settings):
        self.workers.start(beat=True, **{"SMS_GATEWAY": "twilio", **QUICK, **settings})

    def texts(self):
        return Counter((m["to"], m["body"]) for m in self.sim.accepted)

    def refuse(self, number):
        self.sim.configure(invalid_numbers=[number])

    def undeliver(self, number):
        self.sim.configure(undelivered_numbers={number: 30003})

    def cap(self, per_second):
        self.sim.configure(rate_cap=per_second)

    def throttled(self):
        return self.sim.stats().get("rate_limited", 0)

    def refuse_credentials(self, refuse=True):
        self.sim.configure(auth_token="rotated-elsewhere" if refuse else DEFAULT_AUTH_TOKEN)

    def text_in(self, number, body):
        response = requests.post(f"{self.sim.url}/_sim/inbound", json={"from": number, "to": self.sender,
                                                                         "body": body}, timeout=10)
        assert response.status_code == 201, response.text


class CmppPair:
    name = "cmpp"

    def __init__(self, request):
        self.ismg = request.getfixturevalue("ismg")
        self.app = request.getfixturevalue("cmpp_app")
        self.workers = request.getfixturevalue("workers")
        self.connector = request.getfixturevalue("connector")
        self.sender = self.ismg.baseline["src_id"]

    def start(self, **settings):
        env = {**cmpp_env(self.ismg), **QUICK, **settings}
        self.workers.start(beat=True, **env)
        self.connector(**env).start()

    def texts(self):
        return Counter((e164(m["dest"][0]), m["text"]) for m in self.ismg.messages() if m["complete"])

    def refuse(self, number):
        self.ismg.configure(refused_numbers=[number])

    def undeliver(self, number):
        self.ismg.configure(undelivered_numbers={number: "UNDELIV"})

    def cap(self, per_second):
        self.ismg.configure(rate_cap=per_second)

    def throttled(self):
        stats = self.ismg.stats()
        return stats.get("flow_control_rate", 0) + stats.get("flow_control_window", 0)

    def refuse_credentials(self, refuse=True):
        # The ISMG's record of our secret changes; the link drops, and the next login is refused.
        self.ismg.configure(shared_secret="rotated-elsewhere" if refuse else self.ismg.baseline["shared_secret"])
        if refuse:
            self.ismg.post("/_sim/drop")

    def text_in(self, number, body):
        self.ismg.mo(number.removeprefix("+86"), self.sender, body)


PAIRS = {"twilio": TwilioPair, "cmpp": CmppPair}


@pytest.fixture(params=sorted(PAIRS))
def pair(request):
    made = PAIRS[request.param](request)
    with made.app.app_context():
        yield made
        db.session.remove()


def gateway_health(name):
    db.session.commit()
    return health.views()[name]


def wait_for_health(name, state, timeout=60):
    """The gateway's view once its health is `state`."""
    return wait_until(lambda: (view := gateway_health(name)).health == state and view, timeout,
                      what=f"{name} {state}")
