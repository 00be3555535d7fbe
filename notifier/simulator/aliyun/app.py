"""The simulator's WSGI app: Dysmsapi's RPC endpoint at / plus a JSON control API under /_sim/."""
import time

from flask import Flask, jsonify, request

from .engine import AliyunSimulator, ApiError, _ms, _request_id


def create_app(simulator=None, **options):
    simulator = simulator or AliyunSimulator(**options)
    app = Flask("notifier.simulator.aliyun")
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.extensions["aliyun_simulator"] = simulator

    @app.route("/", methods=["GET", "POST"])
    def rpc():
        config = simulator.config
        half = _ms(config.latency_ms, simulator.random) / 2000
        time.sleep(half)
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = {k: v for k, v in request.args.items()}
        try:
            simulator.authenticate(request.method, request.path, query, headers, request.get_data())
            params = dict(query)
            params.update(request.form.to_dict())  # RPC parameters may come in a form body too
            action = headers.get("x-acs-action") or params.get("Action", "")
            if headers.get("x-acs-version", params.get("Version")) != "2017-05-25":
                raise ApiError("InvalidVersion", "Specified parameter Version is not valid.", 400)
            body, status = simulator.call(action, params), 200
        except ApiError as exc:
            body, status = {"Code": exc.code, "Message": exc.message, "RequestId": _request_id()}, exc.status
        time.sleep(half)
        return jsonify(body), status

    @app.get("/_sim/health")
    def health():
        return jsonify(ok=True)

    @app.get("/_sim/config")
    def get_config():
        return jsonify(simulator.config.to_dict())

    @app.post("/_sim/config")
    def set_config():
        try:
            return jsonify(simulator.configure(**(request.get_json(force=True) or {})))
        except (TypeError, ValueError) as exc:
            return jsonify(error=str(exc)), 400

    @app.get("/_sim/messages")
    def messages():
        with simulator.lock:
            items = [{**s.detail(), "BizId": s.biz_id, "SignName": s.sign_name, "Params": s.params}
                     for s in simulator.sent]
        return jsonify(messages=items)

    @app.post("/_sim/reply")
    def reply():
        data = request.get_json(force=True) or {}
        if not data.get("phone_number") or "content" not in data:
            return jsonify(error="phone_number and content are required"), 400
        return jsonify(simulator.reply(str(data["phone_number"]), str(data["content"]),
                                       dest_code=str(data.get("dest_code") or "")))

    @app.get("/_sim/stats")
    def stats():
        with simulator.lock:
            return jsonify(calls=dict(simulator.calls), pushed=dict(simulator.pushed), sent=len(simulator.sent),
                           pending_reports=len(simulator._due),
                           pending_replies=len(simulator._answers))

    @app.post("/_sim/reset")
    def reset():
        simulator.reset()
        return jsonify(ok=True)

    return app
