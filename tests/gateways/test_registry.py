"""Which gateway carries a text: the priority list, routes by prefix, the admins' order, health."""
import pytest

from notifier.gateways.health import GatewayView
from notifier.gateways.registry import GatewayConfigError, Registry, parse_gateways, parse_routes


def test_priority_list_and_routes_parse():
    assert parse_gateways(" cmpp, Aliyun ") == ["cmpp", "aliyun"]
    routes = parse_routes("+86=cmpp,aliyun; *=twilio;+8613=aliyun", ["twilio"])
    assert routes == [("+8613", ["aliyun"]), ("+86", ["cmpp", "aliyun"]), ("", ["twilio"])]
    assert parse_routes("", ["cmpp"]) == [("", ["cmpp"])]


@pytest.mark.parametrize("gateways,routes,words", [
    (" , ", "", "names no gateway"),
    ("sms", "", "unknown gateway 'sms'"),
    ("cmpp,cmpp", "", "listed twice"),
    ("twilio", "86=cmpp", "PREFIX=gateway"),
    ("twilio", "+86", "PREFIX=gateway"),
    ("twilio", "+86=nope", "unknown gateway 'nope'"),
])
def test_bad_settings_name_what_is_wrong(gateways, routes, words):
    with pytest.raises(GatewayConfigError, match=words):
        Registry({"SMS_GATEWAY": gateways, "SMS_ROUTES": routes, "SMS_RATE_LIMIT": 10})


def test_longest_prefix_wins_then_the_admins_order():
    registry = Registry({"SMS_GATEWAY": "twilio", "SMS_ROUTES": "+86=cmpp,aliyun;*=twilio", "SMS_RATE_LIMIT": 10})
    assert registry.names == ["twilio", "cmpp", "aliyun"]
    assert registry.candidates("+8613800000001") == ["cmpp", "aliyun"]
    assert registry.candidates("+15005550006") == ["twilio"]
    # The admins put aliyun first: it leads the +86 route, and adds nothing to the others.
    assert registry.candidates("+8613800000001", {"aliyun": 0, "cmpp": 1, "twilio": 2}) == ["aliyun", "cmpp"]
    assert registry.candidates("+15005550006", {"aliyun": 0, "cmpp": 1, "twilio": 2}) == ["twilio"]


def test_choose_skips_gateways_that_are_paused_down_or_disconnected():
    registry = Registry({"SMS_GATEWAY": "cmpp,aliyun,twilio", "SMS_RATE_LIMIT": 10})
    to = "+8613800000001"
    states = {n: GatewayView(n) for n in registry.names}
    assert registry.choose(to, states) == "cmpp"
    states["cmpp"].alive = False
    assert registry.choose(to, states) == "aliyun"
    states["aliyun"].health = "misconfigured"
    assert registry.choose(to, states) == "twilio"
    states["twilio"].paused = True
    assert registry.choose(to, states) is None  # nothing may carry it: it waits


def test_each_gateway_has_its_own_rate():
    registry = Registry({"SMS_GATEWAY": "cmpp,twilio", "SMS_RATE_LIMIT": 10, "CMPP_RATE_LIMIT": "50"})
    assert registry.rate("cmpp") == 50 and registry.rate("twilio") == 10
