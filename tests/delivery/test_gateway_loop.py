"""The gateway's batch send works from a thread that already runs an event loop (an async host,
or a test process where Playwright's loop is running)."""
import asyncio
import threading

from notifier.delivery.models import Message
from notifier.delivery.outbox import create_messages, enqueue
from notifier.delivery.sending import deliver
from notifier.extensions import db


def test_deliver_from_inside_a_running_event_loop(dctx, sim):
    [row] = create_messages([{"to": "+8613800000077", "body": "【县人大常委会】测试"}])
    message_id = row.id
    enqueue([message_id])
    outcome = {}

    async def host():
        # deliver() is plain synchronous code, called here while this thread's loop is running.
        with dctx.app_context():
            return deliver([message_id])

    def run():
        try:
            outcome["counts"] = asyncio.run(host())
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            outcome["error"] = exc

    # A thread of its own, so the host loop is ours whatever loop the test process runs.
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["counts"]["accepted"] == 1
    db.session.expire_all()
    assert db.session.get(Message, message_id).status in {"sent", "delivered"}
    assert sim.count(to="+8613800000077") == 1
