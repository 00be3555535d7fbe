"""Which gateway carries a text: configured priorities, routes by number prefix, health.

    SMS_GATEWAY=cmpp,aliyun            the priority list: the first available one carries a text
    SMS_ROUTES=+86=cmpp,aliyun;*=twilio   optional, by number prefix (the longest prefix wins)

Admins may change the order and pause a gateway (the `gateways` table); a gateway that refuses
or is misconfigured is left out until it answers again (notifier.gateways.health). A text is
only ever *claimed* for one gateway at a time, so failover moves texts that no gateway has,
never duplicates one (see notifier.delivery.sending).
"""
import importlib
import re

ADAPTERS = {
    # name -> "module:Class"; each adapter has from_config(config).
    "twilio": "notifier.gateways.twilio.adapter:TwilioGateway",
    "cmpp": "notifier.gateways.cmpp.adapter:CmppGateway",
    "aliyun": "notifier.gateways.aliyun.adapter:AliyunGateway",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


class GatewayConfigError(ValueError):
    """SMS_GATEWAY or SMS_ROUTES does not parse, or names a gateway that does not exist."""


def parse_gateways(value):
    """'cmpp, aliyun' -> ['cmpp', 'aliyun'] (order kept, duplicates refused)."""
    names = [part.strip().lower() for part in str(value or "").split(",") if part.strip()]
    if not names:
        raise GatewayConfigError("SMS_GATEWAY names no gateway")
    for name in names:
        if name not in ADAPTERS:
            raise GatewayConfigError(f"unknown gateway {name!r} (known: {', '.join(sorted(ADAPTERS))})")
    if len(set(names)) != len(names):
        raise GatewayConfigError(f"a gateway is listed twice in {value!r}")
    return names


def parse_routes(value, default):
    """'+86=cmpp,aliyun;*=twilio' -> [('+86', [...]), ('', [...])], longest prefix first.
    '*' (or no route matching) falls back to `default`, the SMS_GATEWAY list."""
    routes = {}
    for part in str(value or "").split(";"):
        part = part.strip()
        if not part:
            continue
        prefix, sep, names = part.partition("=")
        prefix = prefix.strip()
        if not sep or not (prefix == "*" or re.fullmatch(r"\+\d{1,15}", prefix)):
            raise GatewayConfigError(f"SMS_ROUTES: {part!r} is not PREFIX=gateway[,gateway] (PREFIX like +86 or *)")
        try:
            routes["" if prefix == "*" else prefix] = parse_gateways(names)
        except GatewayConfigError as exc:
            raise GatewayConfigError(f"SMS_ROUTES: {exc}") from None
    routes.setdefault("", list(default))
    return sorted(routes.items(), key=lambda item: -len(item[0]))


class Registry:
    """The configured gateways of one app: their adapters (built on first use) and routes."""

    def __init__(self, config):
        self.config = config
        self.priority = parse_gateways(config.get("SMS_GATEWAY") or "twilio")
        self.routes = parse_routes(config.get("SMS_ROUTES"), self.priority)
        self.names = list(dict.fromkeys([*self.priority, *(n for _, names in self.routes for n in names)]))
        self._adapters = {}

    def adapter(self, name):
        if name not in self._adapters:
            if name not in self.names:
                raise GatewayConfigError(f"gateway {name!r} is not configured (SMS_GATEWAY, SMS_ROUTES)")
            module, _, cls = ADAPTERS[name].partition(":")
            self._adapters[name] = getattr(importlib.import_module(module), cls).from_config(self.config)
        return self._adapters[name]

    def rate(self, name):
        """Segments per second for this gateway: <NAME>_RATE_LIMIT, else SMS_RATE_LIMIT."""
        value = self.config.get(f"{name.upper()}_RATE_LIMIT")
        return float(self.config["SMS_RATE_LIMIT"] if value in (None, "", False) else value)

    def candidates(self, to, order=None):
        """The gateways that may carry a text to `to`, best first. `order` (the admins' order:
        name -> position) reorders a route's list without adding to it."""
        names = next(names for prefix, names in self.routes if (to or "").startswith(prefix))
        if order:
            configured = {name: i for i, name in enumerate(names)}
            names = sorted(names, key=lambda n: (order.get(n, len(order) + configured[n]), configured[n]))
        return names

    def choose(self, to, states):
        """The first available gateway for `to` (states: name -> GatewayView), or None."""
        order = {name: view.position for name, view in states.items() if view.position is not None}
        for name in self.candidates(to, order):
            view = states.get(name)
            if view is None or view.available:
                return name
        return None
