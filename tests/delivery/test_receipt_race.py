"""Two callbacks for one text racing: the slower one, decided on a stale read, must not pull a
final status back (SQLite has no row locks, so the move itself has to be conditional)."""
from sqlalchemy import update

from notifier.delivery.models import DELIVERED, SENDING, Message
from notifier.delivery.outbox import create_messages
from notifier.delivery.receipts import apply_gateway_status
from notifier.extensions import db


def test_stale_sent_callback_does_not_overwrite_delivered(dctx):
    [row] = create_messages([{"to": "+8613800000009", "body": "【县人大常委会】测试"}])
    db.session.execute(update(Message).where(Message.id == row.id).values(status=SENDING))
    db.session.commit()
    stale = db.session.get(Message, row.id)
    assert stale.status == SENDING

    # Another callback (another connection) delivers it meanwhile.
    with db.engine.begin() as conn:
        conn.execute(update(Message).where(Message.id == row.id).values(status=DELIVERED))

    moved = apply_gateway_status(stale, "SM" + "b" * 32, "sent")
    db.session.commit()
    assert moved is False
    db.session.expire_all()
    assert db.session.get(Message, row.id).status == DELIVERED


def test_answers_recorded_together_respect_each_claim_and_what_came_first(dctx):
    """The texts a gateway took are marked sent in one statement: each only under the claim its
    call was made with, a receipt that came first keeps its status (the row gets the id), and a
    gateway id another row has is never given twice."""
    from datetime import timedelta

    from notifier.delivery.clock import db_now
    from notifier.delivery.models import SENT
    from notifier.delivery.sending import record_results
    from notifier.gateways.base import ACCEPTED, SendResult

    rows = create_messages([{"to": f"+861380000001{i}", "body": "【县人大常委会】测试"} for i in range(5)])
    ids = [r.id for r in rows]
    claimed = db_now()
    db.session.execute(update(Message).where(Message.id.in_(ids)).values(status=SENDING, claimed_at=claimed))
    db.session.commit()
    claims = dict.fromkeys(ids, claimed)
    with db.engine.begin() as conn:  # meanwhile: a receipt, a new claim, and an id taken elsewhere
        conn.execute(update(Message).where(Message.id == ids[1]).values(status=DELIVERED))
        conn.execute(update(Message).where(Message.id == ids[2]).values(claimed_at=claimed + timedelta(seconds=5)))
        conn.execute(update(Message).where(Message.id == ids[4]).values(gateway_id="SM-owned"))
    answers = [SendResult(ACCEPTED, gateway_id=gid, gateway_status="queued")
               for gid in ("SM0", "SM1", "SM2", "SM-owned", "SM-owned")]
    counts = record_results(list(zip(ids, answers, strict=True)), claims=claims)
    assert counts["accepted"] == 4 and counts["stale"] == 1
    db.session.expire_all()
    got = {m.id: (m.status, m.gateway_id) for m in db.session.query(Message).filter(Message.id.in_(ids))}
    assert got[ids[0]] == (SENT, "SM0")
    assert got[ids[1]] == (DELIVERED, "SM1")  # the receipt came first: kept, with the id
    assert got[ids[2]] == (SENDING, None)  # claimed again since: left to the new claim
    assert got[ids[3]] == (SENDING, None)  # its id belongs to another row: not given twice
    assert got[ids[4]] == (SENT, "SM-owned")  # the row that has it
