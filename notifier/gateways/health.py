"""Each gateway's health and the admins' say over it.

    up             texts may go to it
    refusing       it stopped answering (GATEWAY_REFUSING_AFTER texts in a row failed to reach it,
                   or its connector process is not holding a session)
    misconfigured  it refuses us, not the recipient (bad credentials, an account or URL that does
                   not exist): the platform's fault, shown to admins as a banner

A gateway that is not up, or paused by an admin, carries nothing; its texts go to the next one
the registry lists, or wait. The sweeper probes gateways that are not up every
GATEWAY_PROBE_SECONDS and puts them back when they answer.
"""
import dataclasses
import logging
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import select, update

from notifier.audit.service import record
from notifier.extensions import db
from notifier.gateways.base import CONNECTOR, MISCONFIGURED, TRANSIENT, UNKNOWN
from notifier.gateways.models import MISCONFIGURED as MISCONFIGURED_HEALTH
from notifier.gateways.models import REFUSING, UP, GatewayState
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
_STREAK = "notifier:gateway:{name}:failures"
_ALIVE = "notifier:gateway:{name}:alive"


@dataclasses.dataclass
class GatewayView:
    name: str
    position: int = None
    paused: bool = False
    health: str = UP
    detail: str = None
    since: object = None
    alive: bool = True  # a connector's process holds its session (always True for HTTP gateways)

    @property
    def available(self):
        return not self.paused and self.health == UP and self.alive


def get_registry():
    from notifier.gateways.registry import Registry

    app = current_app._get_current_object()
    registry = app.extensions.get("sms_gateways")
    if registry is None:
        registry = app.extensions["sms_gateways"] = Registry(app.config)
    return registry


def redis_client():
    app = current_app._get_current_object()
    client = app.extensions.get("gateway_redis")
    if client is None:
        client = app.extensions["gateway_redis"] = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=5)
    return client


def views(registry=None):
    """name -> GatewayView for every configured gateway, in priority order."""
    registry = registry or get_registry()
    rows = {row.name: row for row in db.session.scalars(select(GatewayState))}
    result = {}
    for name in registry.names:
        row = rows.get(name)
        view = GatewayView(name) if row is None else GatewayView(
            name, row.position, row.paused, row.health, row.detail, row.health_since)
        if _kind(registry, name) == CONNECTOR:
            view.alive = _alive(name)
        result[name] = view
    return result


def _kind(registry, name):
    try:
        return registry.adapter(name).kind
    except Exception:  # noqa: BLE001  (an adapter that cannot be built is not available)
        return None


def _alive(name):
    try:
        return bool(redis_client().exists(_ALIVE.format(name=name)))
    except redis.RedisError:
        return False


def heartbeat(name, ttl):
    """A connector says it holds a session; it counts as gone `ttl` seconds after its last word."""
    redis_client().set(_ALIVE.format(name=name), "1", ex=max(1, int(ttl)))


def gone(name):
    redis_client().delete(_ALIVE.format(name=name))


def _row(name):
    row = db.session.get(GatewayState, name)
    if row is None:
        row = GatewayState(name=name)
        db.session.add(row)
        db.session.flush()
    return row


def mark(name, health, detail=None):
    """Set a gateway's health; writes (and logs) only on a change. Commits. True when it changed."""
    _row(name)
    now = utcnow()
    changed = db.session.execute(
        update(GatewayState).where(GatewayState.name == name, GatewayState.health != health)
        .values(health=health, detail=(detail or None) and str(detail)[:500], health_since=now, checked_at=now,
                updated_at=now)).rowcount
    db.session.commit()
    if changed:
        (log.info if health == UP else log.warning)("gateway %s is now %s%s", name, health,
                                                    f": {detail}" if detail else "")
    return bool(changed)


def note_results(name, results):
    """Keep the gateway's health in step with what a batch of sends found.

    A misconfiguration marks it at once (every text would fail the same way); failures to reach
    it count in a streak that an accepted text resets."""
    misconfigured = next((r for r in results if r.outcome == MISCONFIGURED), None)
    if misconfigured is not None:
        mark(name, MISCONFIGURED_HEALTH, f"{misconfigured.error_code}: {misconfigured.error_message}")
        return
    unreachable = sum(1 for r in results if r.outcome in (TRANSIENT, UNKNOWN))
    accepted = len(results) - unreachable
    key = _STREAK.format(name=name)
    try:
        client = redis_client()
        if accepted:
            client.delete(key)
            return
        if not unreachable:
            return
        streak = client.incrby(key, unreachable)
        client.expire(key, 3600)
    except redis.RedisError:
        return
    if streak >= int(current_app.config["GATEWAY_REFUSING_AFTER"]):
        last = next(r for r in reversed(results) if r.outcome in (TRANSIENT, UNKNOWN))
        mark(name, REFUSING, f"{streak} texts in a row did not reach it; last: {last.error_code}: {last.error_message}")


def probe_due(registry=None, now=None):
    """Ask each HTTP gateway that is not up whether it answers again (check()). Returns the names
    put back up."""
    registry = registry or get_registry()
    now = now or utcnow()
    due = now - timedelta(seconds=float(current_app.config["GATEWAY_PROBE_SECONDS"]))
    rows = db.session.scalars(select(GatewayState).where(
        GatewayState.health != UP, GatewayState.name.in_(registry.names))).all()
    names = [row.name for row in rows if row.checked_at is None or row.checked_at < due]
    db.session.execute(update(GatewayState).where(GatewayState.name.in_(names)).values(checked_at=now))
    db.session.commit()  # no session held during the gateway calls below
    recovered = []
    for name in names:
        adapter = registry.adapter(name)
        if adapter.kind == CONNECTOR:
            continue  # its process reports its own health
        try:
            adapter.check()
        except Exception as exc:  # noqa: BLE001  (any failure keeps it out, with its words)
            log.info("gateway %s still not answering: %s", name, exc)
            continue
        if mark(name, UP):
            redis_client().delete(_STREAK.format(name=name))
            recovered.append(name)
    return recovered


# --- the admins' say ---------------------------------------------------------------------------

def set_paused(name, paused, actor):
    registry = get_registry()
    if name not in registry.names:
        raise KeyError(name)
    row = _row(name)
    if row.paused == paused:
        db.session.commit()
        return False
    row.paused = paused
    record("gateway.pause" if paused else "gateway.resume", None, actor=actor, gateway=name)
    db.session.commit()
    return True


def set_order(names, actor):
    """The admins' priority order: every configured gateway, once."""
    registry = get_registry()
    if sorted(names) != sorted(registry.names):
        raise ValueError("the order must list every configured gateway once")
    for position, name in enumerate(names):
        _row(name).position = position
    record("gateway.order", None, actor=actor, order=list(names))
    db.session.commit()


def probe(name):
    """Ask one gateway now (the admins' "check now"); returns True when it answers and is up."""
    registry = get_registry()
    try:
        adapter = registry.adapter(name)
    except Exception as exc:  # noqa: BLE001  (settings missing or wrong: the platform's own fault)
        mark(name, MISCONFIGURED_HEALTH, str(exc))
        return False
    if adapter.kind == CONNECTOR:
        return _alive(name) and views(registry)[name].health == UP
    _row(name).checked_at = utcnow()
    db.session.commit()
    try:
        adapter.check()
    except Exception as exc:  # noqa: BLE001
        log.info("gateway %s does not answer: %s", name, exc)
        return False
    mark(name, UP)
    redis_client().delete(_STREAK.format(name=name))
    return True


def problems():
    """The gateways that carry nothing now, for the banner: [GatewayView]."""
    try:
        return [view for view in views().values() if not view.available]
    except Exception:  # noqa: BLE001  (a page must render even when the registry cannot be read)
        log.exception("gateway states unavailable")
        return []


def reply_number(reply_code):
    """The number deputies reply to for a notice with this code, when a gateway threads replies by
    number (CMPP: the access number followed by the code as its extension); else None."""
    registry = get_registry()
    if not reply_code or "cmpp" not in registry.names:
        return None
    return f"{current_app.config.get('CMPP_SRC_ID') or ''}{reply_code}"
