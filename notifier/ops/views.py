"""GET /healthz (the process answers), /readyz (it can work: database, Redis, each gateway;
503 naming what fails) and /metrics (Prometheus text, behind METRICS_TOKEN or a network rule)."""
import hmac
import ipaddress
import logging

import redis
from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from notifier.extensions import db

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (named in the answer, not raised)
        db.session.rollback()
        checks["database"] = f"failing: {type(exc).__name__}"
    try:
        redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2).ping()
        checks["redis"] = "ok"
    except redis.RedisError as exc:
        checks["redis"] = f"failing: {type(exc).__name__}"
    if checks["database"] == "ok":
        checks.update(_gateways())
    ok = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ok else "failing", checks=checks,
                   failing=sorted(k for k, v in checks.items() if v != "ok")), 200 if ok else 503


def _gateways():
    """Each gateway as the platform last found it (the sweeper probes those not up; a connector
    gateway needs its process's heartbeat): no call to the gateway on every probe."""
    from notifier.gateways import health

    try:
        views = health.views()
    except Exception as exc:  # noqa: BLE001
        return {"gateways": f"failing: {exc}"}
    found = {}
    for name, view in views.items():
        if view.paused:
            found[f"gateway:{name}"] = "ok"  # paused on purpose by an admin: not a failure
        elif view.available:
            found[f"gateway:{name}"] = "ok"
        else:
            found[f"gateway:{name}"] = f"failing: {view.health}" + ("" if getattr(view, "alive", True) else " (no connector)")
    return found


def _allowed():
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.config["METRICS_ALLOW_NETWORKS"])


@bp.get("/metrics")
def metrics():
    if not _allowed():
        abort(403)
    from notifier.ops.metrics import render

    return Response(render(), mimetype=CONTENT_TYPE_LATEST)
