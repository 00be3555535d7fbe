"""The gateway contract, held against every adapter and its simulator (conftest.PAIRS), through
the real processes: texts from the outbox reach the gateway once each and their receipts come
back; a refused number fails for good and alone; a carrier's "not delivered" is final with its
code; "slow down" only slows us down; credentials the gateway stops taking hold the texts, say
why, and the texts go when it takes them again; a deputy's text back reaches the platform.
The adapter-level half of the contract (each call's outcome, find_sent, fetch, list_inbound) is
test_adapter_contract.py, for the HTTP adapters."""
import pytest
from sqlalchemy import func, select

from notifier.delivery.models import DELIVERED, FAILED, FINAL_STATUSES, QUEUED, UNDELIVERED, Message
from notifier.delivery.outbox import create_messages, enqueue
from notifier.extensions import db
from notifier.gateways.models import MISCONFIGURED, UP
from notifier.replies.models import InboundMessage
from notifier.roster.models import Deputy
from tests.conftest import wait_until

from .conftest import gateway_health, wait_for_health

pytestmark = pytest.mark.slow
BODY = "【县人大常委会】请各位代表于本周五上午九时参加常委会会议。第{i}号"


def number(i):
    return f"+86139{i:08d}"


def outbox(n, start=0):
    rows = create_messages([{"to": number(i), "body": BODY.format(i=i)} for i in range(start, start + n)])
    enqueue([r.id for r in rows])
    return [r.id for r in rows]


def messages():
    db.session.commit()
    return {m.to: m for m in db.session.scalars(select(Message))}


def all_final(n):
    found = messages()
    return len(found) == n and all(m.status in FINAL_STATUSES for m in found.values()) and found


def test_texts_reach_the_gateway_once_each_and_their_receipts_come_back(pair):
    pair.start()
    outbox(30)
    found = wait_until(lambda: all_final(30), 120, what="every text final")
    assert {m.status for m in found.values()} == {DELIVERED}
    assert {m.gateway for m in found.values()} == {pair.name}
    assert all(m.gateway_id for m in found.values()), "each text keeps the gateway's id for it"
    texts = pair.texts()
    assert len(texts) == 30 and max(texts.values()) == 1


def test_a_number_the_gateway_refuses_fails_for_good_and_alone(pair):
    pair.refuse(number(3))
    pair.start()
    outbox(10)
    found = wait_until(lambda: all_final(10), 120, what="every text final")
    refused = found.pop(number(3))
    assert refused.status == FAILED and refused.error_code, (refused.status, refused.error_code)
    assert {m.status for m in found.values()} == {DELIVERED}
    assert gateway_health(pair.name).health == UP  # one bad number says nothing about the gateway
    assert (number(3), BODY.format(i=3)) not in pair.texts()


def test_the_carriers_not_delivered_is_final_with_its_code(pair):
    pair.undeliver(number(5))
    pair.start()
    outbox(10)
    found = wait_until(lambda: all_final(10), 120, what="every text final")
    lost = found.pop(number(5))
    assert lost.status == UNDELIVERED and lost.error_code, (lost.status, lost.error_code)
    assert {m.status for m in found.values()} == {DELIVERED}


def test_slow_down_only_slows_us_down(pair):
    pair.cap(8)
    pair.start(**{f"{pair.name.upper()}_RATE_LIMIT": 60})
    outbox(60)
    found = wait_until(lambda: all_final(60), 180, what="every text final")
    assert {m.status for m in found.values()} == {DELIVERED}, "a 'slow down' failed a text"
    texts = pair.texts()
    assert len(texts) == 60 and max(texts.values()) == 1
    assert pair.throttled() > 0, "the gateway never had to say 'slow down': the test proves nothing"


def test_credentials_the_gateway_stops_taking_hold_the_texts_until_it_takes_them_again(pair):
    pair.start()
    outbox(5)
    wait_until(lambda: all_final(5), 120, what="the first texts final")
    pair.refuse_credentials()
    if pair.name == "twilio":
        outbox(5, start=5)  # an HTTP gateway finds out on the next call
    view = wait_for_health(pair.name, MISCONFIGURED)
    assert view.detail, "the admin is told the gateway's own words"
    if pair.name != "twilio":
        outbox(5, start=5)
    held = lambda: {m.status for m in messages().values() if m.to >= number(5)}  # noqa: E731
    wait_until(lambda: held() == {QUEUED}, 30, what="the texts held, queued")
    assert len(pair.texts()) == 5

    pair.refuse_credentials(False)
    found = wait_until(lambda: all_final(10), 120, what="the held texts sent once the gateway takes us again")
    assert {m.status for m in found.values()} == {DELIVERED}
    assert gateway_health(pair.name).health == UP
    texts = pair.texts()
    assert len(texts) == 10 and max(texts.values()) == 1


def test_a_deputy_texting_back_reaches_the_platform(pair):
    deputy = Deputy(name="李四", phone=number(7))
    db.session.add(deputy)
    db.session.commit()
    pair.start()
    pair.text_in(number(7), "会议材料已收到，谢谢")

    def stored():
        db.session.commit()
        return db.session.scalar(select(InboundMessage).where(InboundMessage.from_number == number(7)))

    reply = wait_until(stored, 60, what="the reply stored")
    assert reply.deputy_id == deputy.id and reply.body == "会议材料已收到，谢谢"
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1
