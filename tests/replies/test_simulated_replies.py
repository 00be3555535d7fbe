"""Integration: a notice to 500 deputies through real workers and the simulator, whose simulated
deputies reply (signed, to the live inbound webhook); the tallies end equal to what it sent."""
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from notifier.replies.models import InboundMessage
from notifier.replies.service import tally
from tests.conftest import wait_until
from tests.notices.conftest import add_deputies, notice_data, user

pytestmark = pytest.mark.slow
KEY = {"confirm": "confirmed", "decline": "declined", "text": "other", "opt_out": "opted_out"}


def test_500_deputies_reply_through_the_simulator(dctx, workers, sim_process, live_url, make_user):
    add_deputies(500, levels=("county",))
    sim_process.configure(reply_rate=0.7, reply_after_ms="100-3000", inbound_url=f"{live_url}/webhooks/twilio/inbound",
                          reply_mix={"confirm": 0.55, "decline": 0.2, "text": 0.17, "opt_out": 0.08})
    workers.start(beat=True, NOTICE_TICK_SECONDS=1)
    composer, approver = make_user("composer"), make_user("approver")
    notice = workflow.create_notice(notice_data(), user(composer))
    workflow.submit(notice, user(composer))
    workflow.approve(notice, user(approver))
    nid = notice.id

    def completed():
        db.session.commit()
        return db.session.get(Notice, nid).status == "completed"

    wait_until(completed, 300, "the notice to complete", interval=1.0)

    def sim_replies():
        return requests.get(f"{sim_process.url}/_sim/replies", timeout=10).json()["replies"]

    def settled():
        stats = sim_process.stats()
        return stats["pending_callbacks"] == 0 and len(sim_replies()) > 0

    wait_until(settled, 120, "the simulated deputies to finish replying", interval=1.0)
    sent = sim_replies()
    assert all(r["status"] == 200 for r in sent), [r for r in sent if r["status"] != 200][:5]
    assert 280 <= len(sent) <= 420  # ~70% of 500
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == len(sent)
    kinds = Counter(r["kind"] for r in sent)
    result = tally(nid)
    assert {KEY[k]: n for k, n in kinds.items()} == {k: result[k] for k in KEY.values() if result[k]}
    assert result["none"] == 500 - len(sent) and result["recipients"] == 500
    # Every reply was matched to its deputy and threaded to the notice, and opt-outs took effect.
    assert db.session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.notice_id == nid, InboundMessage.deputy_id.is_not(None))) == len(sent)
    from notifier.roster.models import Deputy

    assert db.session.scalar(select(func.count()).select_from(Deputy).where(Deputy.opted_out)) == kinds["opt_out"]
