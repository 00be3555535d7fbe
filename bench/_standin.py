"""A lean Twilio stand-in for the throughput benchmarks: `python bench/_standin.py --port P --latency-ms 150`.

The simulator (notifier/simulator) is the gateway the tests and the demo talk to: every status,
error, cap and callback, on werkzeug's thread-per-connection server that closes each connection.
On the benchmark's two cores it burned 1.1 ms of CPU per text, as much as the worker itself, so
it, not the platform, set the ceiling. This stand-in answers only what a send needs - Messages
create with its basic auth, the same resource body (SimMessage.resource), a latency, keep-alive -
on aiohttp's event loop, and the control URLs the benchmarks read (/_sim/health, config, reset,
stats, messages). No cap, no callbacks, no receipts: use the simulator for those.
"""
import argparse
import asyncio
import base64
import itertools
from datetime import UTC, datetime

from _common import ROOT  # noqa: F401  (puts the project on sys.path)
from aiohttp import web

from notifier.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from notifier.simulator.state import SimMessage, new_sid, segments


class StandIn:
    def __init__(self, latency_ms):
        self.latency = latency_ms / 1000
        self.auth = "Basic " + base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode()).decode()
        self.reset()

    def reset(self):
        self.messages, self.in_flight, self.peak_in_flight, self.seq = [], 0, 0, itertools.count(1)

    async def create(self, request):
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if request.headers.get("Authorization") != self.auth:
                return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
            form = await request.post()
            await asyncio.sleep(self.latency)
            now = datetime.now(UTC)
            message = SimMessage(sid=new_sid(), seq=next(self.seq), account_sid=request.match_info["account"],
                                 to=form.get("To"), from_=form.get("From"), body=form.get("Body", ""),
                                 messaging_service_sid=form.get("MessagingServiceSid"),
                                 num_segments=segments(form.get("Body", ""))[0],
                                 date_created=now, date_updated=now, date_sent=now)
            self.messages.append(message)
            return web.json_response(message.resource(), status=201)
        finally:
            self.in_flight -= 1

    async def stats(self, request):
        return web.json_response({"messages": len(self.messages), "peak_in_flight": self.peak_in_flight,
                                  "in_flight": self.in_flight, "pending_callbacks": 0, "pending_replies": 0})

    async def accepted(self, request):
        listed = [{"sid": m.sid, "to": m.to, "from": m.from_, "body": m.body, "status": m.status}
                  for m in self.messages]
        return web.json_response({"messages": listed, "count": len(listed)})

    async def do_reset(self, request):
        self.reset()
        return web.json_response({"reset": True})

    async def health(self, request):
        return web.json_response({"ok": True})

    async def configure(self, request):  # nothing to configure: no callbacks, no cap
        return web.json_response({})


def app(latency_ms):
    stand_in = StandIn(latency_ms)
    application = web.Application()
    application.add_routes([
        web.post("/2010-04-01/Accounts/{account}/Messages.json", stand_in.create),
        web.get("/_sim/health", stand_in.health),
        web.post("/_sim/config", stand_in.configure),
        web.post("/_sim/reset", stand_in.do_reset),
        web.get("/_sim/stats", stand_in.stats),
        web.get("/_sim/messages", stand_in.accepted),
    ])
    return application


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=150)
    args = parser.parse_args()
    web.run_app(app(args.latency_ms), host="127.0.0.1", port=args.port, print=None, access_log=None, backlog=2048)
