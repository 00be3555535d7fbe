"""Workflow: every transition, every role, the audit trail, settings and reply codes."""
import pytest
from sqlalchemy import select

from notifier.audit.models import AuditEvent
from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.audience import AudienceError, clean_spec, resolve
from notifier.notices.dispatch import counts, dispatch_notice
from notifier.notices.models import Notice
from notifier.notices.settings import approval_required, set_setting
from notifier.notices.workflow import NotAllowed, NoticeInvalid, WorkflowError
from tests.notices.conftest import notice_data, user


@pytest.fixture(autouse=True)
def english(ctx, app):
    """Messages are matched in English here (Chinese is the default locale)."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        yield



@pytest.fixture
def people(ctx):
    from notifier.accounts.service import create_user

    return {name: create_user(name, name.rstrip("2"), password="Xx-" * 4)[0]
            for name in ("composer", "approver", "admin", "viewer", "approver2")}


def actions(notice_id):
    return db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "notices",
                                                              AuditEvent.target_id == str(notice_id))
                              .order_by(AuditEvent.id)).all()


# --- audience ------------------------------------------------------------------------------------

def test_audience_union_counts_each_deputy_once_and_says_who_is_skipped(roster):
    spec = clean_spec({"levels": ["county", "provincial"], "tags": ["教育"], "deputy_ids": roster["both"]})
    audience = resolve(spec)
    # 3 county + 1 (county & provincial & tag & listed) + 1 tagged municipal + opted + inactive
    assert audience.matched == 7
    assert audience.to_dict() == {"matched": 7, "recipients": 5, "skipped": {"opted_out": 1, "inactive": 1}}
    assert len({r.id for r in audience.rows}) == 7


def test_audience_levels_in_chinese_and_bad_specs(roster):
    assert clean_spec({"levels": ["县级", "省"]})["levels"] == ["provincial", "county"]
    with pytest.raises(AudienceError) as err:
        clean_spec({"levels": ["moon"], "tags": ["无此标签"], "deputy_ids": [999999]})
    assert set(err.value.errors) == {"levels", "tags", "deputy_ids"}
    assert resolve(clean_spec({})).matched == 0


# --- transitions ----------------------------------------------------------------------------------

def test_full_path_draft_to_completed_with_audit(roster, people):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    assert notice.status == "draft" and notice.reply_code is None
    workflow.submit(notice, user(people["composer"]))
    assert notice.status == "pending_approval" and notice.reply_code == "10"
    workflow.approve(notice, user(people["approver"]))
    assert notice.status == "approved" and notice.approved_by_id == people["approver"].id
    dispatch_notice(notice.id)
    db.session.refresh(notice)
    assert notice.status == "sending" and notice.recipient_count == 6  # 4 county sendable + opted + inactive
    c = counts(notice.id)
    assert (c["queued"], c["skipped"], c["total"]) == (4, 2, 6)
    texts = db.session.scalars(select(Message.body).where(Message.status == "queued").order_by(Message.id)).all()
    assert texts[0] == "【县人大常委会】代表0代表：请于本周五上午九时参加县人大常委会会议。回复1确认，2请假 #10"
    assert actions(notice.id) == ["notice.create", "notice.submit", "notice.approve", "notice.send"]


def test_composer_cannot_approve_or_reject_and_approver_not_own(roster, people):
    notice = workflow.create_notice(notice_data(), user(people["approver"]))
    workflow.submit(notice, user(people["approver"]))
    with pytest.raises(NotAllowed):
        workflow.approve(notice, user(people["composer"]))
    with pytest.raises(NotAllowed, match="another approver"):
        workflow.approve(notice, user(people["approver"]))
    with pytest.raises(NotAllowed):
        workflow.reject(notice, user(people["approver"]), "no")
    with pytest.raises(NotAllowed):
        workflow.cancel(notice, user(people["viewer"]))
    workflow.approve(notice, user(people["admin"]))
    assert notice.status == "approved"


def test_viewer_cannot_compose(roster, people):
    with pytest.raises(NotAllowed):
        workflow.create_notice(notice_data(), user(people["viewer"]))


def test_reject_needs_reason_then_edit_returns_to_draft_and_resubmit(roster, people):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    workflow.submit(notice, user(people["composer"]))
    with pytest.raises(NoticeInvalid):
        workflow.reject(notice, user(people["approver"]), "  ")
    workflow.reject(notice, user(people["approver"]), "时间写错了")
    assert (notice.status, notice.rejection_reason) == ("rejected", "时间写错了")
    with pytest.raises(WorkflowError):
        workflow.approve(notice, user(people["approver"]))
    workflow.update_notice(notice, {"body": "请于本周六参加会议。"}, user(people["composer"]))
    assert notice.status == "draft"
    workflow.submit(notice, user(people["composer"]))
    assert notice.status == "pending_approval" and notice.rejection_reason is None
    assert actions(notice.id)[-3:] == ["notice.reject", "notice.update", "notice.submit"]


@pytest.mark.parametrize("status", ["pending_approval", "approved", "scheduled", "sending", "completed", "cancelled"])
def test_only_drafts_are_edited_or_submitted(roster, people, status):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    notice.status = status
    db.session.commit()
    with pytest.raises(WorkflowError, match="draft"):
        workflow.update_notice(notice, {"title": "x"}, user(people["composer"]))
    with pytest.raises(WorkflowError, match="draft"):
        workflow.submit(notice, user(people["composer"]))


@pytest.mark.parametrize("status", ["draft", "rejected", "approved", "scheduled", "sending", "completed",
                                    "cancelled"])
def test_approve_and_reject_only_when_pending(roster, people, status):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    notice.status = status
    db.session.commit()
    with pytest.raises(WorkflowError, match="waiting for approval"):
        workflow.approve(notice, user(people["approver"]))
    with pytest.raises(WorkflowError, match="waiting for approval"):
        workflow.reject(notice, user(people["approver"]), "x")


@pytest.mark.parametrize("status", ["draft", "pending_approval", "rejected", "approved", "scheduled", "sending"])
def test_cancel_from_every_open_state(roster, people, status):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    notice.status = status
    db.session.commit()
    workflow.cancel(notice, user(people["approver"]))
    assert notice.status == "cancelled" and notice.cancelled_by_id == people["approver"].id
    assert actions(notice.id)[-1] == "notice.cancel"


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_no_cancel_after_completion(roster, people, status):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    notice.status = status
    db.session.commit()
    with pytest.raises(WorkflowError, match="no longer"):
        workflow.cancel(notice, user(people["composer"]))


def test_submit_checks_audience_length_and_fields(roster, people):
    with pytest.raises(NoticeInvalid) as err:
        workflow.create_notice(notice_data(title="", body="{nom}", category="x", reply="maybe"), user(people["composer"]))
    assert set(err.value.errors) == {"title", "body", "category", "reply"}
    notice = workflow.create_notice(notice_data(audience={"tags": []}, body="会" * 700), user(people["composer"]))
    with pytest.raises(NoticeInvalid) as err:
        workflow.submit(notice, user(people["composer"]))
    assert set(err.value.errors) == {"audience", "body"}
    assert "segments" in err.value.errors["body"][0]
    assert db.session.get(Notice, notice.id).status == "draft"


def test_approval_turned_off_by_admin_starts_on_submit(roster, people):
    assert approval_required() is True
    set_setting("approval_required", False, actor=user(people["admin"]))
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    workflow.submit(notice, user(people["composer"]))
    assert notice.status == "approved" and notice.approved_by_id is None
    assert actions(notice.id) == ["notice.create", "notice.submit", "notice.approve"]
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "setting.change"))


def test_reply_codes_are_unique_among_open_notices(roster, people):
    codes = []
    for _ in range(3):
        notice = workflow.create_notice(notice_data(), user(people["composer"]))
        workflow.submit(notice, user(people["composer"]))
        codes.append(notice.reply_code)
    assert codes == ["10", "11", "12"]
    first = db.session.get(Notice, 1)
    workflow.cancel(first, user(people["composer"]))
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    workflow.submit(notice, user(people["composer"]))
    assert notice.reply_code == "10"  # freed by the cancel
    plain = workflow.create_notice(notice_data(reply="none"), user(people["composer"]))
    workflow.submit(plain, user(people["composer"]))
    assert plain.reply_code is None


# --- four eyes: whoever last changed the notice does not approve it ------------------------------

def test_an_approver_who_rewrote_a_notice_cannot_approve_it(roster, people):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    workflow.update_notice(notice, {"body": "请于本周六参加会议。"}, user(people["approver"]))
    assert notice.last_edited_by_id == people["approver"].id
    workflow.submit(notice, user(people["approver"]))
    with pytest.raises(NotAllowed, match="last change"):
        workflow.approve(notice, user(people["approver"]))
    with pytest.raises(NotAllowed, match="last change"):
        workflow.reject(notice, user(people["approver"]), "no")
    assert not workflow.may_decide(notice, user(people["approver"]))
    workflow.approve(notice, user(people["approver2"]))
    assert notice.status == "approved" and notice.approved_by_id == people["approver2"].id
    edits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.update")).all()
    assert [(e.user_id, e.detail["changed"]) for e in edits] == [(people["approver"].id, ["body"])]


def test_the_last_editor_is_whoever_changed_something_last(roster, people):
    notice = workflow.create_notice(notice_data(), user(people["composer"]))
    assert notice.last_edited_by_id == people["composer"].id
    workflow.update_notice(notice, {"audience": {"levels": ["county", "municipal"]}}, user(people["approver"]))
    # Saving without a change makes nobody an editor; a real change by the author does.
    workflow.update_notice(notice, {"title": notice.title}, user(people["approver2"]))
    assert notice.last_edited_by_id == people["approver"].id
    workflow.update_notice(notice, {"urgent": True}, user(people["composer"]))
    assert notice.last_edited_by_id == people["composer"].id
    workflow.submit(notice, user(people["composer"]))
    workflow.approve(notice, user(people["approver"]))  # the composer saw and changed the notice after them
    assert notice.status == "approved"
