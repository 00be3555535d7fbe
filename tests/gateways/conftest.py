"""Gateway test fixtures: the delivery ones (the Twilio simulator, a live server, real Celery
workers) and the CMPP ones (the ISMG simulator in its own process, the `notifier cmpp` connector
process)."""
import os
import signal
import subprocess
import sys

import pytest
import redis as redis_lib

from notifier.extensions import db
from tests.conftest import wait_until
from tests.delivery.conftest import (  # noqa: F401
    ROOT,
    dctx,
    delivery_app,
    live_url,
    sim,
    sim_process,
    workers,
)
from tests.simulator.cmpp_process import CmppSim

NOTIFIER = os.path.join(os.path.dirname(sys.executable), "notifier")


@pytest.fixture
def ismg():
    server = CmppSim()
    yield server
    server.stop()


def cmpp_env(ismg, gateways="cmpp"):
    return {"SMS_GATEWAY": gateways, "CMPP_HOST": ismg.host, "CMPP_PORT": str(ismg.port),
            "CMPP_SP_ID": ismg.baseline["sp_id"], "CMPP_SHARED_SECRET": ismg.baseline["shared_secret"],
            "CMPP_SRC_ID": ismg.baseline["src_id"]}


@pytest.fixture
def cmpp_app(delivery_app, ismg):  # noqa: F811  (the fixture imported above)
    saved = {k: delivery_app.config.get(k) for k in cmpp_env(ismg)}
    delivery_app.config.update(cmpp_env(ismg))
    delivery_app.extensions.pop("sms_gateways", None)
    with delivery_app.app_context():
        yield delivery_app
        db.session.remove()
    delivery_app.config.update(saved)
    delivery_app.extensions.pop("sms_gateways", None)


class ConnectorProcess:
    def __init__(self, pool, env, tmp_path):
        self.env = pool.env(**env)
        self.tmp_path, self.proc, self.runs = tmp_path, None, 0

    def start(self, wait=True):
        """Start the process; with `wait`, until it has logged in and says so."""
        self.runs += 1
        self.log = self.tmp_path / f"connector-{self.runs}.log"
        self.handle = open(self.log, "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen([NOTIFIER, "cmpp"], cwd=ROOT, env=self.env, stdout=self.handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait:
            return self
        alive = redis_lib.Redis.from_url(self.env["TEST_REDIS_URL"])
        wait_until(lambda: alive.exists("notifier:gateway:cmpp:alive") or self.proc.poll() is not None, 60,
                   interval=0.1, what="the connector's heartbeat")  # logged in, and says so
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)
        if self.proc is not None:
            self.handle.close()
            print(f"--- {self.log.name} ---\n{self.log.read_text()[-3000:]}")


@pytest.fixture
def connector(workers, ismg, tmp_path):  # noqa: F811
    processes = []

    def make(**env):
        process = ConnectorProcess(workers, {**cmpp_env(ismg), **env}, tmp_path)
        processes.append(process)
        return process

    yield make
    for process in processes:
        process.stop()
