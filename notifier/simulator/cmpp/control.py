"""The simulator's HTTP control API (JSON, no auth: it listens locally), for tests and the demo.

    GET  /_sim/health                  alive, with the CMPP port and live connections
    GET  /_sim/config                  the settings; POST a JSON object to change some
    GET  /_sim/messages?dest=&src_id=  texts SUBMITted and taken: parts joined, Msg_Ids, reports
    GET  /_sim/stats                   counters (submits, flow control, drops, delivers, ...)
    POST /_sim/mo                      a deputy writes: {"from", "dest_id", "text", "msg_fmt"}
    GET  /_sim/mo                      texts delivered from phones (control and auto replies)
    POST /_sim/drop                    drop every connection now
    POST /_sim/reset                   forget texts, replies and counters (settings stay)
"""
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


def create_app(ismg, port):
    app = Flask("notifier.simulator.cmpp")
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    call = ismg.call

    @app.get("/_sim/health")
    def health():
        return jsonify(ok=True, port=port, connections=call(lambda: len(ismg.connections)))

    @app.get("/_sim/config")
    def get_config():
        return jsonify(call(lambda: ismg.config.as_dict()))

    @app.post("/_sim/config")
    def set_config():
        options = request.get_json(silent=True)
        if not isinstance(options, dict):
            return jsonify(error="send a JSON object of options"), 400
        try:
            config = call(ismg.configure, **options)
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(config.as_dict())

    @app.get("/_sim/messages")
    def messages():
        found = call(ismg.submitted, dest=request.args.get("dest"), src_id=request.args.get("src_id"))
        return jsonify(messages=found, count=len(found))

    @app.get("/_sim/stats")
    def stats():
        return jsonify(call(ismg.snapshot_stats))

    @app.post("/_sim/mo")
    def deliver_mo():
        data = request.get_json(silent=True) or {}
        missing = [k for k in ("from", "dest_id", "text") if not data.get(k)]
        if missing:
            return jsonify(error=f"missing {', '.join(missing)}"), 400
        try:
            record = call(
                ismg.deliver_mo, str(data["from"]), str(data["dest_id"]), str(data["text"]),
                int(data.get("msg_fmt", 8)), str(data.get("service_id", "")),
            )
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(record), 201

    @app.get("/_sim/mo")
    def mos():
        found = call(lambda: [dict(m) for m in ismg.mos])
        return jsonify(mos=found, count=len(found))

    @app.post("/_sim/drop")
    def drop():
        return jsonify(dropped=call(ismg.drop_connections))

    @app.post("/_sim/reset")
    def reset():
        call(ismg.reset)
        return jsonify(reset=True)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return jsonify(error=exc.description), exc.code

    return app
