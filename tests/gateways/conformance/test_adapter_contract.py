"""One conformance suite of the Gateway contract (notifier.gateways.base), run against every HTTP
adapter with its simulator over HTTP: the same tests, the same expectations.

    accepted       a text is taken once, with a gateway id
    throttled      the gateway's "slow down" is THROTTLED: not a failure, nothing taken
    permanent      a bad number is PERMANENT
    misconfigured  a wrong secret is MISCONFIGURED, and check() raises
    status         fetch(gateway_id) tells the text's status once its receipt is in
    reconcile      find_sent finds a text whose answer we lost, and nothing for one never sent
    inbound        list_inbound, where the gateway can list replies (Twilio; Aliyun pushes them)

The CMPP gateway is a connector (its session lives in `notifier cmpp`, tests/gateways/cmpp): it has
no send_many to call: it is held to the end-to-end half of the contract, with the others, in
test_contract.py (through the workers and the connector process).
"""
import dataclasses
from datetime import timedelta

import pytest

from notifier.gateways.aliyun.adapter import AliyunGateway
from notifier.gateways.base import ACCEPTED, MISCONFIGURED, PERMANENT, THROTTLED, Outbound
from notifier.gateways.twilio.adapter import TwilioGateway
from notifier.simulator import SimulatorServer
from notifier.simulator.aliyun import DEFAULT_SIGN_NAME, AliyunSimulatorServer
from notifier.timeutil import utcnow

FROM = "+15005550006"
BAD_NUMBER = "+8613000000009"


@dataclasses.dataclass
class Pair:
    """An adapter and its simulator, with the knobs the suite turns on each."""

    name: str
    server: object
    make: object  # make(secret=None) -> adapter
    item: object  # item(message_id, to) -> Outbound
    throttle: object  # throttle() -> None: the gateway asks us to slow down from now on
    refuse_number: object  # refuse_number(to)
    held: object  # held() -> texts the gateway holds
    wait: object  # wait() -> receipts done
    inbound: object = None  # receive(from_, text) -> None: a phone texts us (listable gateways)


def _twilio():
    server = SimulatorServer(sent_after_ms=10, final_after_ms=20, seed=3).start()

    def make(secret=None):
        gateway = TwilioGateway(server.account_sid, secret or server.auth_token, server.url, timeout=5, sender=FROM)
        gateway.inbound_numbers = (FROM,)
        return gateway

    def item(mid, to):
        return Outbound(mid, to, FROM, body=f"【县人大常委会】第{mid}号通知：周五上午九时开会。")

    def receive(from_, text):
        server.receive_text(from_, FROM, text, post=False)

    pair = Pair("twilio", server, make, item, lambda: server.configure(rate_cap=0.001),
                lambda to: server.configure(invalid_numbers=[to]), lambda: server.accepted,
                lambda: server.wait_for_callbacks(10), receive)
    return pair


def _aliyun():
    server = AliyunSimulatorServer(seed=3, report_after_ms="10").start()

    def make(secret=None):
        return AliyunGateway(server.access_key_id, secret or server.access_key_secret, DEFAULT_SIGN_NAME, server.url,
                             timeout=5)

    def item(mid, to):
        return Outbound(mid, to, DEFAULT_SIGN_NAME, body=f"【县人大常委会】张三代表您好，第{mid}号通知",
                        template_code="SMS_480000002", template_params={"name": "张三", "content": f"第{mid}号通知"})

    return Pair("aliyun", server, make, item, lambda: server.configure(throttle_rate=1.0),
                lambda to: server.configure(invalid_numbers=to[3:]), lambda: server.accepted,
                lambda: server.wait_for_reports(10))


@pytest.fixture(params=["twilio", "aliyun"])
def pair(request):
    made = {"twilio": _twilio, "aliyun": _aliyun}[request.param]()
    yield made
    made.server.stop()


def test_a_text_is_accepted_once_with_a_gateway_id(pair):
    gateway = pair.make()
    results = gateway.send_many([pair.item(1, "+8613900000001"), pair.item(2, "+8613900000002")])
    assert [r.outcome for r in results] == [ACCEPTED, ACCEPTED]
    assert all(r.gateway_id for r in results) and results[0].gateway_id != results[1].gateway_id
    assert results[0].exchange and results[0].exchange.get("duration_ms") is not None
    assert len(pair.held()) == 2


def test_slow_down_is_throttled_never_a_failure(pair):
    gateway = pair.make()
    pair.throttle()
    results = gateway.send_many([pair.item(i, f"+861390000000{i}") for i in range(1, 4)])
    outcomes = [r.outcome for r in results]
    assert THROTTLED in outcomes and set(outcomes) <= {ACCEPTED, THROTTLED}, outcomes
    assert len(pair.held()) == outcomes.count(ACCEPTED)


def test_a_bad_number_is_permanent(pair):
    pair.refuse_number(BAD_NUMBER)
    result, = pair.make().send_many([pair.item(1, BAD_NUMBER)])
    assert result.outcome == PERMANENT and result.error_code
    assert pair.held() == []


def test_a_wrong_secret_is_misconfigured(pair):
    gateway = pair.make(secret="not-our-secret")
    result, = gateway.send_many([pair.item(1, "+8613900000001")])
    assert result.outcome == MISCONFIGURED and result.error_code
    assert "not-our-secret" not in str(result.exchange)
    with pytest.raises(Exception):  # noqa: B017  (each SDK raises its own kind)
        gateway.check()
    pair.make().check()


def test_fetch_tells_the_status_once_the_receipt_is_in(pair):
    gateway = pair.make()
    result, = gateway.send_many([pair.item(7, "+8613900000007")])
    assert pair.wait()
    remote = gateway.fetch(result.gateway_id)
    assert remote is not None and remote.status == "delivered" and remote.to == "+8613900000007"


def test_find_sent_finds_a_lost_answer_and_nothing_else(pair):
    gateway = pair.make()
    item = pair.item(9, "+8613900000009")
    result, = gateway.send_many([item])
    since = utcnow() - timedelta(minutes=2)
    found = gateway.find_sent(item.to, item.body, since, utcnow() + timedelta(minutes=2), message_id=9)
    assert [r.to for r in found] == [item.to]
    assert gateway.find_sent("+8613900000010", item.body, since, message_id=10) == []
    assert result.outcome == ACCEPTED


def test_inbound_listing_where_the_gateway_has_it(pair):
    gateway = pair.make()
    if pair.inbound is None:
        assert not hasattr(gateway, "list_inbound")  # its replies are pushed (tests/gateways/aliyun)
        return
    start = utcnow() - timedelta(seconds=5)
    pair.inbound("+8613900000001", "1")
    texts = gateway.list_inbound(start)
    assert [(t.from_, t.body) for t in texts] == [("+8613900000001", "1")]
