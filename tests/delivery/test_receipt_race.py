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
