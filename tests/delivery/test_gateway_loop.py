"""The gateway's batch send works from a thread that already runs an event loop (an async host,
or a test process where Playwright's loop is running)."""
import asyncio

from notifier.delivery.models import Message
from notifier.delivery.outbox import create_messages, enqueue
from notifier.delivery.sending import deliver
from notifier.extensions import db


def test_deliver_from_inside_a_running_event_loop(dctx, sim, delivery_app):
    [row] = create_messages([{"to": "+8613800000077", "body": "【县人大常委会】测试"}])
    message_id = row.id
    enqueue([message_id])

    async def host():
        return deliver([message_id])

    asyncio.run(host())
    db.session.expire_all()
    assert db.session.get(Message, message_id).status in {"sent", "delivered"}
    assert sim.count(to="+8613800000077") == 1
