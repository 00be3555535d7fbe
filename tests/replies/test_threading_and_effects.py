"""Threading replies to notices (several open notices, codes, deadlines, reminders), opt-out and
opt-in effects on later notices, tallies with names, and reminders to exactly the non-responders."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from notifier.replies import reminders
from notifier.replies.models import InboundMessage, Reminder
from notifier.replies.service import non_responders, receive, tally
from notifier.replies.settings import set_setting
from notifier.roster.models import Deputy
from notifier.roster.service import set_opted_out
from notifier.timeutil import utcnow
from tests.notices.conftest import add_deputies, user
from tests.replies.conftest import new_sid, send_notice


def reply(phone, body, now=None):
    row, created = receive({"MessageSid": new_sid(), "From": phone, "To": "+15005550006", "Body": body}, now=now)
    assert created
    return row


def phone(i):
    return f"+86139{i:08d}"


def test_latest_open_notice_wins_and_a_code_overrides_it(ctx, staff):
    add_deputies(3)
    first = send_notice(staff, title="一")
    second = send_notice(staff, title="二")
    assert first.reply_code != second.reply_code
    assert reply(phone(0), "1").notice_id == second.id  # the most recent open notice
    assert reply(phone(1), f"2 #{first.reply_code}").notice_id == first.id  # the code wins
    assert reply(phone(2), f"＃{second.reply_code} 好的").notice_id == second.id
    # A code no notice has: back to the most recent open one.
    assert reply(phone(0), "1 #999").notice_id == second.id


def test_closed_notices_and_no_reply_notices_are_not_threaded(ctx, staff):
    add_deputies(2)
    asks = send_notice(staff, title="要回复", reply_deadline=utcnow() + timedelta(hours=2))
    send_notice(staff, title="只通知", reply="none")  # newer, but asks nothing: skipped
    assert reply(phone(0), "1").notice_id == asks.id
    later = utcnow() + timedelta(hours=3)  # after the deadline: still threaded, marked late
    row = reply(phone(1), "1", now=later)
    assert (row.notice_id, row.late) == (asks.id, True)
    much_later = utcnow() + timedelta(days=30)
    assert reply(phone(1), "1", now=much_later).notice_id is None


def test_notice_sent_to_someone_else_is_not_theirs(ctx, staff):
    county = add_deputies(1, levels=("county",))
    add_deputies(1, levels=("municipal",), start=50)
    notice = send_notice(staff, audience={"levels": ["county"]})
    assert reply(phone(50), "1").notice_id is None  # nothing was sent to this deputy
    assert reply(phone(0), "1").notice_id == notice.id and county


def test_sender_matched_in_any_format(ctx, staff):
    (deputy_id,) = add_deputies(1)
    for sender in ("+8613900000000", "8613900000000", "13900000000", "+86 139 0000 0000", "0086-139-0000-0000",
                   "１３９００００００００"):
        assert reply(sender, "你好").deputy_id == deputy_id, sender


def test_opt_out_by_text_skips_later_notices_and_opt_in_restores(ctx, staff):
    ids = add_deputies(3)
    send_notice(staff, title="一")
    reply(phone(1), "退订")
    deputy = db.session.get(Deputy, ids[1])
    assert deputy.opted_out and deputy.opted_out_via == "sms:退订" and deputy.opted_out_at is not None
    later = send_notice(staff, title="二")
    statuses = dict(db.session.execute(select(Message.deputy_id, Message.status)
                                       .where(Message.notice_id == later.id)).all())
    assert statuses[ids[1]] == "skipped" and statuses[ids[0]] == "queued"
    reply(phone(1), "订阅")
    db.session.refresh(deputy)
    assert not deputy.opted_out
    from notifier.audit.models import AuditEvent

    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deputy.opt_in")).one()
    assert event.detail["reason"] == "sms:订阅" and event.actor == "sms"
    third = send_notice(staff, title="三")
    assert db.session.scalar(select(Message.status).where(Message.notice_id == third.id,
                                                          Message.deputy_id == ids[1])) == "queued"


def test_admin_can_reverse_an_sms_opt_out_with_a_reason(ctx, staff):
    (deputy_id,) = add_deputies(1)
    reply(phone(0), "TD")
    deputy = db.session.get(Deputy, deputy_id)
    set_opted_out(deputy, False, "admin: 本人电话要求恢复", actor=user(staff["admin"]))
    assert not deputy.opted_out


def test_tally_counts_and_names(ctx, staff):
    ids = add_deputies(6)
    add_deputies(1, start=100, opted_out=True)  # skipped: not a recipient
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(hours=1))
    reply(phone(0), "1")
    reply(phone(1), "2 出差")
    reply(phone(2), "会议在哪里开？")
    reply(phone(3), "1")
    reply(phone(3), "2")  # changed their mind: the latest answer counts
    reply(phone(4), "退订")
    reply(phone(0), "1", now=utcnow() + timedelta(hours=2))  # late, still a confirmation
    result = tally(notice.id)
    assert {k: result[k] for k in ("confirmed", "declined", "received", "other", "opted_out", "none", "recipients")} == {
        "confirmed": 1, "declined": 2, "received": 0, "other": 1, "opted_out": 1, "none": 1, "recipients": 6}
    assert result["late"] == 1
    names = result["names"]
    assert [n["name"] for n in names["declined"]] == ["代表1", "代表3"]
    assert names["confirmed"][0]["late"] and names["other"][0]["body"] == "会议在哪里开？"
    assert [n["deputy_id"] for n in names["none"]] == [ids[5]]


def test_reminder_goes_to_exactly_the_non_responders(ctx, staff):
    ids = add_deputies(8)
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(days=1))
    reply(phone(0), "1")
    reply(phone(1), "2")
    reply(phone(2), "有事找你们")
    reply(phone(3), "退订")
    set_opted_out(db.session.get(Deputy, ids[4]), True, "admin: test")  # not textable any more
    assert non_responders(notice.id) == ids[5:]
    from notifier.notices.settings import set_setting as set_notice_setting

    set_notice_setting("repeat_needs_approval", True, actor=user(staff["admin"]))
    follow = reminders.remind(notice, user(staff["composer"]))
    assert follow.status == "pending_approval"  # the office wants repeats approved too
    assert follow.parent_id == notice.id and follow.follow_up == "reminder"
    assert follow.audience["deputy_ids"] == ids[5:] and follow.reply_deadline == notice.reply_deadline
    workflow.approve(follow, user(staff["approver"]))
    from notifier.notices.dispatch import dispatch_notice

    dispatch_notice(follow.id)
    sent_to = set(db.session.scalars(select(Message.deputy_id).where(Message.notice_id == follow.id,
                                                                     Message.status == "queued")))
    assert sent_to == set(ids[5:])
    body = db.session.scalar(select(Message.body).where(Message.notice_id == follow.id).limit(1))
    assert "提醒：" in body and f"#{follow.reply_code}" in body
    # A reply to the reminder (its own code, or none) counts for the original notice.
    assert reply(phone(5), f"1 #{follow.reply_code}").notice_id == notice.id
    assert reply(phone(6), "2").notice_id == notice.id
    assert non_responders(notice.id) == [ids[7]]
    assert tally(notice.id)["none"] == 2  # the opted-out-by-admin deputy and the last one


def test_reminder_without_approval_when_the_admin_allows(ctx, staff):
    add_deputies(2)
    notice = send_notice(staff)
    set_setting("reminders_without_approval", True, actor=user(staff["admin"]))
    follow = reminders.remind(notice, user(staff["composer"]))
    assert follow.status == "approved"


def test_reminder_goes_on_the_composers_word_by_default(ctx, staff):
    add_deputies(2)
    notice = send_notice(staff)
    follow = reminders.remind(notice, user(staff["composer"]))
    assert follow.status == "approved" and follow.approved_by_id is None  # it repeats approved text
    assert follow.parent_id == notice.id


def test_reminder_refusals(ctx, staff):
    add_deputies(1)
    none = send_notice(staff, reply="none")
    with pytest.raises(reminders.ReminderError):
        reminders.remind(none, user(staff["composer"]))
    notice = send_notice(staff)
    with pytest.raises(workflow.NotAllowed):
        reminders.remind(notice, user(staff["viewer"]))
    reply(phone(0), "1")
    with pytest.raises(reminders.ReminderError):
        reminders.remind(notice, user(staff["composer"]))


def test_automatic_reminder_before_the_deadline_once(ctx, staff):
    add_deputies(3)
    notice = send_notice(staff, reply_deadline=utcnow() + timedelta(hours=5))
    reply(phone(0), "1")
    assert reminders.auto_remind() == []  # off by default
    set_setting("auto_remind_hours", 2, actor=user(staff["admin"]))
    assert reminders.auto_remind() == []  # not yet: 5 hours left
    created = reminders.auto_remind(now=utcnow() + timedelta(hours=3, minutes=30))
    assert len(created) == 1
    follow = db.session.get(Notice, created[0])
    assert follow.audience["deputy_ids"] == non_responders(notice.id)
    assert db.session.scalar(select(Reminder.automatic).where(Reminder.reminder_notice_id == follow.id))
    assert reminders.auto_remind(now=utcnow() + timedelta(hours=4)) == []  # once per notice
    assert db.session.scalar(select(InboundMessage.notice_id)) == notice.id
