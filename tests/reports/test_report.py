"""Notice report, retry failed, the dashboard, and retention keeping the aggregates."""
from datetime import timedelta

import pytest

from notifier.accounts.models import User
from notifier.delivery.models import GatewayExchange, Message, MessageEvent
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.models import Notice
from notifier.notices.settings import set_setting
from notifier.reports import dashboard, report, retention
from notifier.reports.models import DeliveryDaily
from notifier.timeutil import utcnow
from tests.reports.conftest import add_deputy, add_message, add_notice


def test_notice_report(ctx, seed):
    notice = db.session.get(Notice, seed["notices"][0])
    data = report.notice_report(notice)
    assert data["counts"]["delivered"] == 2 and data["counts"]["failed"] == 1 and data["counts"]["skipped"] == 1
    stages = {s["stage"]: s["count"] for s in data["funnel"]}
    assert stages == {"total": 5, "queued": 4, "sent": 3, "delivered": 2, "undelivered": 1, "failed": 1,
                      "skipped": 1, "cancelled": 0}
    assert data["times"] == {"median_seconds": 15.0, "p95_seconds": 19.5, "delivered": 2}
    codes = {f["error_code"]: f for f in data["failures"]}
    assert set(codes) == {"30003", "30005"} and codes["30003"]["transient"] and not codes["30005"]["transient"]
    assert codes["30003"]["title"] == "Phone unreachable" or codes["30003"]["title"] == "手机无法接通"
    assert data["series"]["points"][-1]["cumulative"] == 2
    assert data["delivery_rate"] == 0.5
    assert data["retryable"] == 1  # 30003 (phone off) only; 30005 is permanent
    assert set(data["replies"]) >= {"confirmed", "declined", "other", "none"}


def test_percentile_matches_postgres():
    assert report.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert report.percentile([10.0], 0.95) == 10.0
    assert report.percentile([], 0.5) is None


@pytest.mark.parametrize("approval, repeat", [(True, True), (True, False), (False, True)])
def test_retry_failed_makes_a_follow_up_to_the_transient_failures_only(ctx, seed, make_user, approval, repeat):
    composer = db.session.get(User, make_user("composer").id)
    set_setting("approval_required", approval)
    set_setting("repeat_needs_approval", repeat)
    notice = db.session.get(Notice, seed["notices"][0])
    notice.created_by_id = composer.id
    db.session.commit()
    follow = report.retry_failed(notice, composer)
    assert follow.audience == {"levels": [], "tags": [], "deputy_ids": [seed["deputies"][2]]} or \
        follow.audience.get("deputy_ids") == [seed["deputies"][2]]
    # A resend repeats approved text: a second approval only when the office asks for it (issue 16).
    assert follow.status == ("pending_approval" if approval and repeat else "approved")
    assert follow.parent_id == notice.id and follow.follow_up == "resend"
    assert report.retry_notices(notice.id) == [follow.id]
    # Asking again while the follow-up waits does not make a second one.
    with pytest.raises(report.NothingToRetry):
        report.retry_failed(notice, composer)


def test_retry_needs_compose_and_a_sent_notice(ctx, seed, make_user):
    viewer = db.session.get(User, make_user("viewer").id)
    notice = db.session.get(Notice, seed["notices"][0])
    with pytest.raises(workflow.NotAllowed):
        report.retry_failed(notice, viewer)
    composer = db.session.get(User, make_user("composer").id)
    notice.status = "draft"
    db.session.commit()
    with pytest.raises(workflow.WorkflowError):
        report.retry_failed(notice, composer)


def test_dashboard_counts(ctx, seed):
    data = dashboard.overview(30)
    t = data["totals"]
    assert t["notices"] == 2 and t["messages"] == 8
    assert t["texts"] == 5  # sent + delivered + undelivered
    assert t["delivered"] == 3 and t["delivery_rate"] == round(3 / 6, 4)
    levels = {r["level"]: r for r in data["by_level"]}
    assert levels["national"]["messages"] == 2 and levels["county"]["messages"] == 7
    sources = {r["source"]: r for r in data["by_source"]}
    assert sources["congress"]["messages"] == 5 and sources["government"]["messages"] == 3
    assert sum(d["messages"] for d in data["per_day"]) == 8


def test_retention_purges_bodies_and_exchanges_but_keeps_the_numbers(ctx):
    now = utcnow()
    notice = add_notice(source="court")
    deputies = [add_deputy(f"代表{i}", f"+861380000{i:04d}", ("county", "municipal")) for i in range(6)]
    statuses = ["delivered", "delivered", "delivered", "failed", "undelivered", "sent"]
    old = [add_message(notice, d, s, "30003" if s in ("failed", "undelivered") else None,
                       created_at=now - timedelta(days=200, hours=i)) for i, (d, s) in enumerate(zip(deputies, statuses, strict=True))]
    recent = add_message(add_notice(), deputies[0], "delivered", created_at=now - timedelta(hours=2))
    for m in old + [recent]:
        db.session.add(GatewayExchange(message_id=m.id, at=m.created_at, method="POST", url="https://x/Messages.json",
                                       request={"data": {"To": m.to}}, response_status=201, response_body="{}"))
    db.session.commit()
    before_report = report.notice_report(notice)
    before_dash = dashboard.overview(365)

    done = retention.run()
    assert done["bodies"] == 6 and done["exchanges"] == 6 and done["events"] == 6
    assert db.session.scalar(db.select(db.func.count()).select_from(DeliveryDaily)) > 0
    assert {m.body for m in db.session.scalars(db.select(Message).where(Message.notice_id == notice.id))} == {""}
    assert db.session.get(Message, recent.id).body != ""
    assert db.session.scalar(db.select(db.func.count()).select_from(GatewayExchange)) == 1
    assert all(e.raw is None for e in db.session.scalars(db.select(MessageEvent).where(
        MessageEvent.message_id.in_([m.id for m in old]))))
    # The numbers are the same afterwards, from the aggregates for the closed days.
    after_report = report.notice_report(notice)
    for key in ("counts", "funnel", "delivery_rate", "failures", "times"):
        assert after_report[key] == before_report[key], key
    assert dashboard.overview(365)["totals"] == before_dash["totals"]
    assert dashboard.overview(365)["by_level"] == before_dash["by_level"]
    # Idempotent, and the aggregates alone carry a notice whose rows are gone entirely.
    assert retention.run()["bodies"] == 0
    db.session.execute(db.delete(Message).where(Message.notice_id == notice.id))
    db.session.commit()
    counts = report.status_counts(notice.id)
    assert counts["delivered"] == 3 and counts["failed"] == 1 and counts["undelivered"] == 1
    assert {f["error_code"]: f["count"] for f in report.failures(notice.id)} == {"30003": 2}
    assert dashboard.overview(365)["totals"]["messages"] == before_dash["totals"]["messages"]
