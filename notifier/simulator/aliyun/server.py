"""Serving the Dysmsapi simulator: a threaded WSGI server in the foreground (CLI) or in a
background thread (tests, demo, benchmarks), like the Twilio simulator's."""
import signal
import threading

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import create_app
from .config import DEFAULT_HOST
from .engine import AliyunSimulator


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


class _Server(ThreadedWSGIServer):
    request_queue_size = 1024


class AliyunSimulatorServer:
    """`with AliyunSimulatorServer(report_url=...) as sim: sim.url ...`; port=0 picks a free port."""

    def __init__(self, host=DEFAULT_HOST, port=0, access_log=False, **options):
        self.simulator = AliyunSimulator(**options)
        self.app = create_app(self.simulator)
        self._server = _Server(host, port, self.app, handler=WSGIRequestHandler if access_log else _QuietHandler)
        self.host, self.port = host, self._server.server_address[1]
        self._thread = None

    @property
    def url(self):
        """For ALIYUN_SMS_ENDPOINT."""
        return f"http://{self.host}:{self.port}"

    @property
    def access_key_id(self):
        return self.simulator.config.access_key_id

    @property
    def access_key_secret(self):
        return self.simulator.config.access_key_secret

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="aliyun-simulator", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self):
        signal.signal(signal.SIGTERM, _interrupt)
        self._server.serve_forever()

    def stop(self):
        self.simulator.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def configure(self, **options):
        return self.simulator.configure(**options)

    @property
    def accepted(self):
        """Every text sent, oldest first (QuerySendDetails' fields plus BizId, SignName, Params)."""
        with self.simulator.lock:
            return [{**s.detail(), "BizId": s.biz_id, "SignName": s.sign_name, "Params": s.params}
                    for s in self.simulator.sent]

    def reply(self, phone, content, dest_code=""):
        return self.simulator.reply(phone, content, dest_code=dest_code)

    def stats(self):
        with self.simulator.lock:
            return {"calls": dict(self.simulator.calls), "pushed": dict(self.simulator.pushed),
                    "sent": len(self.simulator.sent)}

    def wait_for_reports(self, timeout=10):
        return self.simulator.wait_idle(timeout)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
