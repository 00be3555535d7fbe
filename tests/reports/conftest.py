"""Seeding helpers for the report tests: deputies with levels, a notice, messages in given states."""
from datetime import timedelta

import pytest

from notifier.delivery.models import Message, MessageEvent
from notifier.extensions import db
from notifier.notices.models import Notice
from notifier.roster.models import Deputy, Level
from notifier.timeutil import utcnow


def add_deputy(name, phone, levels=("county",), **kwargs):
    deputy = Deputy(name=name, phone=phone, **kwargs)
    deputy.levels = [db.session.get(Level, code) for code in levels]
    db.session.add(deputy)
    db.session.flush()
    return deputy


def add_notice(title="县人大常委会会议通知", status="completed", source="congress", reply_mode="none", **kwargs):
    notice = Notice(title=title, body="请于周五上午九时到县人大会议室参加会议。", status=status, source=source,
                    reply_mode=reply_mode, audience={"levels": ["county"]}, **kwargs)
    db.session.add(notice)
    db.session.flush()
    return notice


def add_message(notice, deputy, status="delivered", error_code=None, error_message=None, created_at=None,
                delivered_after=30, segments=1, body=None):
    created = created_at or utcnow() - timedelta(hours=1)
    message = Message(
        notice_id=notice.id if notice else None, deputy_id=deputy.id if deputy else None,
        to=deputy.phone if deputy else "+8613900000000", body=body or "【县人大常委会】请参加会议。",
        segments=segments, status=status, error_code=error_code, error_message=error_message, attempts=1,
        created_at=created, updated_at=created, queued_at=created,
        sent_at=created + timedelta(seconds=2) if status in ("sent", "delivered", "undelivered") else None,
        delivered_at=created + timedelta(seconds=delivered_after) if status == "delivered" else None,
        failed_at=created + timedelta(seconds=5) if status in ("failed", "undelivered") else None,
        gateway_id=None)
    db.session.add(message)
    db.session.flush()
    db.session.add(MessageEvent(message_id=message.id, at=created, kind="status", status="queued", source="worker"))
    db.session.add(MessageEvent(message_id=message.id, at=created, kind="callback", status=status,
                                source="callback", raw={"MessageStatus": status, "To": message.to}))
    return message


@pytest.fixture
def seed(app):
    """A small world: five deputies at various levels, two notices, messages in every state.
    Seeded in its own app context (a context held for the whole test would share flask.g, and so
    the logged-in user, between test clients); tests calling domain code also ask for `ctx`."""
    with app.app_context():
        return _seed()


def _seed():
    d = [add_deputy("张三", "+8613800138000", ("national", "county")),
         add_deputy("李四", "+8613800138001", ("provincial",)),
         add_deputy("王五", "+8613911112222", ("municipal", "county")),
         add_deputy("赵六", "+8613700001234", ("county",)),
         add_deputy("张小明", "+8618612345678", ("county",))]
    n1 = add_notice("会议通知")
    n2 = add_notice("学习材料", source="government")
    m = [add_message(n1, d[0], "delivered", delivered_after=10),
         add_message(n1, d[1], "delivered", delivered_after=20),
         add_message(n1, d[2], "failed", "30003", "gave up after 3 attempts: unreachable"),
         add_message(n1, d[3], "undelivered", "30005", "Unknown destination handset"),
         add_message(n1, d[4], "skipped", None, "opted out"),
         add_message(n2, d[0], "sent"),
         add_message(n2, d[2], "failed", "21211", "Invalid 'To' Phone Number"),
         add_message(n2, d[3], "delivered", delivered_after=100)]
    db.session.commit()
    return {"deputies": [x.id for x in d], "notices": [n1.id, n2.id], "messages": [x.id for x in m]}
