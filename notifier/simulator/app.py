"""The simulator's WSGI app: Twilio's Messages URLs plus a JSON control API under /_sim/.

A plain Flask app, separate from the platform's. Every Twilio-space answer, errors included,
is JSON in Twilio's shape; the control API (no auth: it listens locally) sits outside that space.
Room is left for more simulated parties later (e.g. deputies replying to the inbound webhook).
"""

import functools

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .engine import Simulator, TwilioError, not_found

ACCOUNT = "/2010-04-01/Accounts/<account_sid>"


def create_app(simulator=None, **options):
    """The WSGI app around `simulator` (a new Simulator(**options) when none is given, e.g.
    `gunicorn 'notifier.simulator.app:create_app()'`)."""
    if simulator is None:
        simulator = Simulator(**options)
    app = Flask("notifier.simulator")
    app.json.sort_keys = False
    app.extensions["simulator"] = simulator

    def twilio_api(view):
        """Auth, latency (half before the work, half after) and in-flight counting."""

        @functools.wraps(view)
        def wrapper(account_sid, **kwargs):
            config = simulator.config.current
            simulator.stats.enter()
            try:
                simulator.pause(simulator.latency_half(config))
                try:
                    auth = request.authorization
                    simulator.authenticate(
                        account_sid, auth and auth.username, auth and auth.password
                    )
                    result = view(account_sid, **kwargs)
                except TwilioError as exc:
                    simulator.stats.error(exc.code)
                    result = twilio_error(exc)
                simulator.pause(simulator.latency_half(config))
                return result
            finally:
                simulator.stats.leave()

        return wrapper

    @app.post(f"{ACCOUNT}/Messages.json")
    @twilio_api
    def create_message(account_sid):
        message = simulator.create_message(account_sid, request.form)
        return jsonify(message.resource()), 201

    @app.get(f"{ACCOUNT}/Messages.json")
    @twilio_api
    def list_messages(account_sid):
        return jsonify(simulator.list_messages(account_sid, request.args, request.path))

    @app.get(f"{ACCOUNT}/Messages/<sid>.json")
    @twilio_api
    def fetch_message(account_sid, sid):
        return jsonify(simulator.fetch_message(account_sid, sid, request.path).resource())

    # -- control API -----------------------------------------------------------------------
    @app.get("/_sim/health")
    def health():
        return jsonify(ok=True)

    @app.get("/_sim/config")
    def get_config():
        return jsonify(simulator.config.current.as_dict())

    @app.post("/_sim/config")
    def set_config():
        options = request.get_json(silent=True)
        if not isinstance(options, dict):
            return jsonify(error="send a JSON object of options"), 400
        try:
            config = simulator.configure(**options)
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(config.as_dict())

    @app.get("/_sim/messages")
    def accepted_messages():
        messages = simulator.accepted(
            to=request.args.get("to"),
            body=request.args.get("body"),
            status=request.args.get("status"),
        )
        return jsonify(messages=messages, count=len(messages))

    @app.get("/_sim/stats")
    def stats():
        return jsonify(
            {
                **simulator.stats.snapshot(),
                "messages": len(simulator.store),
                "pending_callbacks": simulator.scheduler.pending(),
            }
        )

    @app.get("/_sim/replies")
    def sent_replies():
        replies = simulator.replies.log()
        return jsonify(replies=replies, count=len(replies))

    @app.post("/_sim/inbound")
    def inbound_text():
        """A phone texts the platform: {"from", "to", "body", "post": true}."""
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k] for k in ("from", "to")):
            return jsonify(error='send {"from": ..., "to": ..., "body": ...}'), 400
        message = simulator.receive_text(data["from"], data["to"], str(data.get("body") or ""),
                                         post=bool(data.get("post", True)))
        return jsonify(message.resource()), 201

    @app.post("/_sim/reset")
    def reset():
        simulator.reset()
        return jsonify(reset=True)

    # -- errors: JSON everywhere, Twilio's shape in Twilio's space -------------------------
    @app.errorhandler(HTTPException)
    def http_error(exc):
        if request.path.startswith("/_sim/"):
            return jsonify(error=exc.description), exc.code
        if exc.code == 404:
            return twilio_error(not_found(request.path))
        return twilio_error(TwilioError(exc.code, 20000 + exc.code, exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("simulator: unexpected error")
        return twilio_error(TwilioError(500, 20500, "An internal server error has occurred"))

    return app


def twilio_error(exc):
    response = jsonify(exc.body())
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response
