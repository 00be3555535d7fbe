"""Scheduling and quiet hours, with a frozen clock (time-machine)."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import dispatch_notice, tick
from notifier.notices.schedule import parse_quiet_hours, quiet_until
from tests.notices.conftest import notice_data, user


# A local time on 2026-11-26 in Asia/Shanghai (UTC+8), as UTC.
def local(hour, minute=0, day=26):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def quiet(app):
    app.config["QUIET_HOURS"] = "22:00-07:00"
    yield
    app.config["QUIET_HOURS"] = ""


@pytest.fixture
def people(ctx):
    from notifier.accounts.service import create_user

    return {name: create_user(name, name, password="Xx-" * 4)[0] for name in ("composer", "approver")}


def approved(people, **fields):
    notice = workflow.create_notice(notice_data(**fields), user(people["composer"]))
    workflow.submit(notice, user(people["composer"]))
    workflow.approve(notice, user(people["approver"]))
    return notice


def messages():
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Message))


def test_parse_quiet_hours():
    assert parse_quiet_hours("") is None
    assert parse_quiet_hours("22:00-07:00") == (datetime(1, 1, 1, 22).time(), datetime(1, 1, 1, 7).time())
    with pytest.raises(ValueError):
        parse_quiet_hours("late")


def test_quiet_until_across_midnight(ctx, quiet):
    assert quiet_until(local(21, 59)) is None
    assert quiet_until(local(22, 0)) == local(7, 0, day=27)
    assert quiet_until(local(3, 0)) == local(7, 0)
    assert quiet_until(local(7, 0)) is None


def test_scheduled_notice_waits_for_its_time_then_beat_starts_it(roster, people):
    with time_machine.travel(local(9), tick=False):
        notice = approved(people, scheduled_at=local(15))
        assert notice.status == "scheduled" and notice.send_after == local(15)
        assert tick()["started"] == [] and messages() == 0
    with time_machine.travel(local(15, 1), tick=False):
        assert tick()["started"] == [notice.id]
        db.session.refresh(notice)
        assert notice.status == "approved"
        dispatch_notice(notice.id)  # what the task queued by tick runs
        assert messages() == 6


def test_quiet_hours_hold_a_non_urgent_notice_until_morning(roster, people, quiet):
    with time_machine.travel(local(23), tick=False):
        notice = approved(people)
        assert notice.status == "scheduled" and notice.send_after == local(7, day=27)
        assert tick()["started"] == []
    with time_machine.travel(local(6, 59, day=27), tick=False):
        assert tick()["started"] == []
    with time_machine.travel(local(7, 1, day=27), tick=False):
        assert tick()["started"] == [notice.id]


def test_urgent_notice_goes_out_in_quiet_hours(roster, people, quiet):
    with time_machine.travel(local(23), tick=False):
        notice = approved(people, urgent=True)
        assert notice.status == "approved"
        dispatch_notice(notice.id)
        assert messages() == 6


def test_schedule_into_quiet_hours_is_held_at_due_time(roster, people, app, quiet):
    with time_machine.travel(local(21), tick=False):
        notice = approved(people, scheduled_at=local(21, 30))
        assert notice.send_after == local(21, 30)
    app.config["QUIET_HOURS"] = "21:00-07:00"  # the office changed its quiet hours meanwhile
    with time_machine.travel(local(21, 31), tick=False):
        summary = tick()
        assert summary["held"] == [notice.id] and summary["started"] == []
        db.session.refresh(notice)
        assert notice.status == "scheduled" and notice.send_after == local(7, day=27)


def test_past_scheduled_time_cannot_be_submitted(roster, people):
    with time_machine.travel(local(12), tick=False):
        notice = workflow.create_notice(notice_data(scheduled_at=local(11)), user(people["composer"]))
        with pytest.raises(workflow.NoticeInvalid) as err:
            workflow.submit(notice, user(people["composer"]))
        assert "scheduled_at" in err.value.errors
