"""Serving the simulator: a threaded WSGI server, in the foreground (CLI) or in a background
thread (tests, demo, benchmarks). One thread per connection, so per-request latency sleeps
never serialise requests; keep-alive (HTTP/1.1) lets clients reuse connections.
"""

import logging
import signal
import threading

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import create_app
from .config import DEFAULT_HOST, DEFAULT_PORT
from .engine import Simulator

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: at benchmark rates it costs real CPU."""

    def log_request(self, code="-", size="-"):
        pass


class _Server(ThreadedWSGIServer):
    # A burst of hundreds of clients connecting at once must not overflow the listen queue.
    request_queue_size = 1024


class SimulatorServer:
    """A simulator on its own thread: `with SimulatorServer(latency_ms=150) as sim: sim.url ...`.

    port=0 picks a free port. Options are those of SimulatorConfig (see config.py).
    """

    def __init__(self, host=DEFAULT_HOST, port=0, access_log=False, **options):
        self.simulator = Simulator(**options)
        self.app = create_app(self.simulator)
        handler = WSGIRequestHandler if access_log else _QuietHandler
        self._server = _Server(host, port, self.app, handler=handler)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = None

    @property
    def url(self):
        """Base URL, e.g. for TWILIO_API_BASE_URL or `client.api.base_url`."""
        return f"http://{self.host}:{self.port}"

    @property
    def account_sid(self):
        return self.simulator.config.current.account_sid

    @property
    def auth_token(self):
        return self.simulator.config.current.auth_token

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self):
        """Serve on this (the main) thread until Ctrl-C or SIGTERM (docker stop, a supervisor),
        both ending in KeyboardInterrupt so the caller's clean-up runs."""
        signal.signal(signal.SIGTERM, _interrupt)
        self._server.serve_forever()

    def stop(self):
        self.simulator.close()  # wakes hung requests and drops pending callbacks
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- runtime control and inspection ----------------------------------------------------
    def configure(self, **options):
        return self.simulator.configure(**options)

    def reset(self):
        self.simulator.reset()

    @property
    def accepted(self):
        """Every accepted message, oldest first: dicts with sid, to, from, body, status, ..."""
        return self.simulator.accepted()

    def receive_text(self, from_, to, body, post=True):
        """A phone texts the platform (see Simulator.receive_text); returns the message's sid."""
        return self.simulator.receive_text(from_, to, body, post=post).sid

    def count(self, to=None, body=None):
        return len(self.simulator.accepted(to=to, body=body))

    def duplicates(self):
        """{(to, body): n} for every To+Body the gateway accepted more than once."""
        seen = {}
        for message in self.simulator.accepted():
            key = (message["to"], message["body"])
            seen[key] = seen.get(key, 0) + 1
        return {key: n for key, n in seen.items() if n > 1}

    def stats(self):
        return {
            **self.simulator.stats.snapshot(),
            "messages": len(self.simulator.store),
            "pending_callbacks": self.simulator.scheduler.pending(),
        }

    def wait_for_callbacks(self, timeout=10):
        """Block until every scheduled status step and callback has run; False on timeout."""
        return self.simulator.scheduler.wait_idle(timeout)

    def twilio_client(self, **kwargs):
        """An official twilio Client whose API calls go to this simulator."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token, **kwargs)
        client.api.base_url = self.url
        return client


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_simulator(host=DEFAULT_HOST, port=DEFAULT_PORT, access_log=True, **options):
    """Serve in the foreground until interrupted (the `notifier simulator` command)."""
    server = SimulatorServer(host=host, port=port, access_log=access_log, **options)
    log.info("Twilio simulator listening on %s (account %s)", server.url, server.account_sid)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
