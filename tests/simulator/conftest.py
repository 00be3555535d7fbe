"""Fixtures for the simulator tests: a running simulator and a tiny HTTP receiver for callbacks."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from notifier.simulator import SimulatorServer

# Short lifecycle delays keep the tests fast while keeping callbacks ordered.
FAST = {
    "queued_after_ms": 0,
    "sent_after_ms": 30,
    "final_after_ms": 30,
    "callback_retry_base_ms": 20,
}


@pytest.fixture
def sim():
    with SimulatorServer(**FAST) as server:
        yield server


@pytest.fixture
def twilio(sim):
    """The official twilio Client, talking to the simulator."""
    return sim.twilio_client()


class Api:
    """Raw HTTP to the simulator's Twilio URLs (for what the twilio client will not send)."""

    def __init__(self, sim):
        self.sim = sim
        self.session = requests.Session()
        self.auth = (sim.account_sid, sim.auth_token)
        self.messages_url = f"{sim.url}/2010-04-01/Accounts/{sim.account_sid}/Messages.json"

    def create(self, timeout=10, auth=None, **form):
        form.setdefault("From", "+15017122661")
        return self.session.post(
            self.messages_url, data=form, auth=auth or self.auth, timeout=timeout
        )

    def get(self, path_or_url, auth=None, **params):
        url = path_or_url if path_or_url.startswith("http") else self.sim.url + path_or_url
        return self.session.get(url, params=params, auth=auth or self.auth, timeout=10)


@pytest.fixture
def api(sim):
    return Api(sim)


def assert_twilio_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == code and body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert body["message"]


class Receiver:
    """Records every POST (path with query, headers, form params); answers from `statuses`."""

    def __init__(self):
        self.received = []
        self.statuses = []  # answered in turn; 204 once empty
        self.delay = 0.0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._cond:
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "params": params}
                    )
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait_for(self, count, timeout=5):
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def for_message(self, sid):
        with self._cond:
            return [r for r in self.received if r["params"].get("MessageSid") == sid]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
