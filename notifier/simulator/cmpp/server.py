"""Serving the simulated ISMG: CMPP on an asyncio loop in the main thread, the control API on a
threaded WSGI server beside it. SIGTERM and Ctrl-C TERMINATE the SPs' sessions and stop it."""
import asyncio
import logging
import signal
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .config import DEFAULT_HOST, DEFAULT_PORT
from .control import create_app
from .ismg import Ismg

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


async def serve(host=DEFAULT_HOST, port=DEFAULT_PORT, control_port=None, announce=print, **options):
    """Serve until SIGTERM or SIGINT. control_port None: the CMPP port + 1 (0 with port 0)."""
    ismg = Ismg(**options)
    loop = ismg.loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if control_port is None:
        control_port = port + 1 if port else 0
    server = await asyncio.start_server(ismg.serve_client, host, port, backlog=256)
    port = server.sockets[0].getsockname()[1]
    http = make_server(host, control_port, create_app(ismg, port), threaded=True,
                       request_handler=_QuietHandler)
    control_url = f"http://{host}:{http.server_port}"
    thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.1},
                              name="cmpp-sim-control", daemon=True)
    thread.start()
    config = ismg.config
    announce(
        f"CMPP simulator (ISMG) on {host}:{port}  SP {config.sp_id}  secret {config.shared_secret}"
        f"  access number {config.src_id}  control {control_url}/_sim/  (Ctrl-C stops)"
    )
    try:
        await stop.wait()
    finally:
        log.info("stopping: TERMINATE to %d SP connection(s)", len(ismg.connections))
        server.close()
        await ismg.terminate_all()
        http.shutdown()
        thread.join(timeout=5)


def run(**options):
    asyncio.run(serve(**options))
