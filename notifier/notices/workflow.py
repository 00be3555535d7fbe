"""The notice's life: draft -> pending_approval -> approved -> (scheduled) -> sending -> completed;
pending_approval -> rejected (-> draft when edited or resubmitted); cancelled from any state before
completed. Every step is checked here, whoever asks (page, API), and leaves an audit event.
"""
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, text

from notifier.audit.service import record
from notifier.extensions import db
from notifier.notices import rendering
from notifier.notices.audience import AudienceError, clean_spec, resolve
from notifier.notices.models import (
    APPROVED,
    CANCELLED,
    CATEGORIES,
    COMPLETED,
    DRAFT,
    OPEN_STATUSES,
    PENDING_APPROVAL,
    REJECTED,
    REPLY_MODES,
    SCHEDULED,
    SENDING,
    SOURCES,
    Notice,
)
from notifier.notices.schedule import send_after
from notifier.notices.settings import approval_required
from notifier.timeutil import utcnow

EDITABLE = (DRAFT, REJECTED)
FIELDS = ("title", "body", "category", "source", "audience", "reply", "reply_deadline", "scheduled_at", "urgent",
          "meeting_at", "meeting_place")
CODE_RANGE = range(10, 1000)  # two digits first: short to type on a phone keypad
CODE_OPEN_DAYS = 30  # a code without a deadline stays reserved this long
# ... and one with a deadline this long after it: the code is also the CMPP extension deputies
# reply to, so a late reply to an old notice must not land on a new one that took its number.
CODE_HOLD_DAYS = 30


class WorkflowError(Exception):
    """A step not allowed in the notice's current state (the API answers 409); str() translated."""


class NotAllowed(WorkflowError):
    """The user may not take this step (the API answers 403)."""


class NoticeInvalid(ValueError):
    """.errors = {field: [messages]} (translated)."""

    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


# --- fields --------------------------------------------------------------------------------------

def notice_fields(data, partial=False):
    """Validate a dict of notice fields (API names: `reply` is the reply mode); NoticeInvalid."""
    errors, out = {}, {}

    def need(key, message):
        if not partial or key in data:
            value = data.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[key] = [message]
                return None
            return value
        return None

    title = need("title", _("A title is required."))
    if title is not None:
        if len(title.strip()) > 200:
            errors["title"] = [_("At most %(n)s characters.", n=200)]
        out["title"] = title.strip()
    body = None
    if data.get("template"):
        _template_fields(data, out, errors)
    elif "template" in data:
        out["template_id"], out["template_params"] = None, None
        body = need("body", _("The text is required."))
    else:
        body = need("body", _("The text is required."))
    if body is not None:
        try:
            rendering.placeholders_in(body)
            out["body"] = body.strip()
        except rendering.RenderError as exc:
            errors["body"] = [str(exc)]
    for key, choices, default in (("category", CATEGORIES, "other"), ("source", SOURCES, "other"),
                                  ("reply", REPLY_MODES, "none")):
        if key in data or not partial:
            value = data.get(key) or default
            if value not in choices:
                errors[key] = [_("Choose one of: %(choices)s.", choices=", ".join(choices))]
            out["reply_mode" if key == "reply" else key] = value
    if "audience" in data or not partial:
        try:
            out["audience"] = clean_spec(data.get("audience"))
        except AudienceError as exc:
            errors["audience"] = exc.errors
    for key in ("reply_deadline", "scheduled_at", "meeting_at"):
        if key in data or not partial:
            value = data.get(key)
            if value is not None and getattr(value, "tzinfo", None) is None:
                errors[key] = [_("Give a date and time with its time zone.")]
            out[key] = value
    if "urgent" in data or not partial:
        out["urgent"] = bool(data.get("urgent"))
    if "meeting_place" in data or not partial:
        place = (data.get("meeting_place") or "").strip()
        if len(place) > 200:
            errors["meeting_place"] = [_("At most %(n)s characters.", n=200)]
        out["meeting_place"] = place or None
    if errors:
        raise NoticeInvalid(errors)
    return out


def _template_fields(data, out, errors):
    """A notice composed from an approved template: its code and the values of its variables."""
    from notifier.notices import templates

    template = templates.find_template(data.get("template"))
    if template is None:
        errors["template"] = [_("No approved template has this code.")]
        return
    try:
        params = templates.check_params(template, data.get("params"))
    except templates.TemplateInvalid as exc:
        errors.update(exc.errors)
        return
    out.update(template_id=template.id, template_params=params, body=templates.display_body(template, params))


def create_notice(data, actor):
    if not actor.can("compose"):
        raise NotAllowed(_("Your role does not allow composing notices."))
    notice = Notice(status=DRAFT, created_by_id=actor.id, last_edited_by_id=actor.id, **notice_fields(data))
    db.session.add(notice)
    record("notice.create", notice, actor=actor, title=notice.title)
    db.session.commit()
    return notice


def update_notice(notice, data, actor):
    """Change a draft (a rejected notice becomes a draft again)."""
    _lock(notice)
    if not actor.can("compose"):
        raise NotAllowed(_("Your role does not allow composing notices."))
    _require(notice, EDITABLE, _("Only a draft can be edited; this notice is %(status)s."))
    fields = notice_fields(data, partial=True)
    changed = sorted(k for k, v in fields.items() if getattr(notice, k) != v)
    for key, value in fields.items():
        setattr(notice, key, value)
    if changed:
        notice.last_edited_by_id = actor.id
    if notice.status == REJECTED:
        notice.status = DRAFT
    record("notice.update", notice, actor=actor, changed=changed)
    db.session.commit()
    return notice


# --- checks before submitting --------------------------------------------------------------------

def longest_text(notice, audience=None, code=None):
    """The rendered text with the most segments over the audience (a sample deputy if empty)."""
    code = code or notice.reply_code
    if notice.template_id is not None:
        from notifier.notices import templates

        rows = audience.sendable() if audience else []
        measured = [rendering.measure(text) for _d, _v, text, _p in templates.texts_for(notice, rows, code)]
        return max(measured, key=lambda r: (r.segments, r.chars))
    uses = rendering.placeholders_in(notice.body)
    rows = (audience.sendable() if audience else []) if uses else []
    texts = {rendering.render_text(notice.body, row, notice.reply_mode, code, notice.reply_deadline)
             for row in rows} or {rendering.render_text(notice.body, None, notice.reply_mode, code,
                                                         notice.reply_deadline)}
    measured = [rendering.measure(t) for t in texts]
    return max(measured, key=lambda r: (r.segments, r.chars))


def check_sendable(notice, code=None):
    """NoticeInvalid unless the notice renders within the limit, has someone to send to, and its
    times make sense."""
    errors = {}
    audience = resolve(notice.audience or {})
    try:
        rendering.check_length(longest_text(notice, audience, code))
    except rendering.RenderError as exc:
        errors["body"] = [str(exc)]
    if notice.template_id is not None:
        errors.update(_template_problems(notice, audience, code))
    if audience.recipients == 0:
        errors["audience"] = [_("Nobody would receive this notice: choose levels, tags or deputies.")]
    now = utcnow()
    if notice.scheduled_at is not None and notice.scheduled_at < now - timedelta(minutes=1):
        errors["scheduled_at"] = [_("The scheduled time has passed.")]
    if notice.reply_deadline is not None and notice.reply_deadline < max(now, notice.scheduled_at or now):
        errors["reply_deadline"] = [_("The reply deadline must be after the sending time.")]
    if notice.category == "meeting" and notice.meeting_at is not None:
        if notice.meeting_at < max(now, notice.scheduled_at or now):
            errors["meeting_at"] = [_("The meeting must be after the sending time.")]
        elif notice.reply_deadline is not None and notice.reply_deadline > notice.meeting_at:
            errors["reply_deadline"] = [_("The reply deadline must be before the meeting.")]
    if errors:
        raise NoticeInvalid(errors)
    return audience


def _template_problems(notice, audience, code):
    """Errors for a templated notice: its template withdrawn, or a deputy's values over the rules."""
    from notifier.notices import templates

    if notice.template is None or not notice.template.approved:
        return {"template": [_("The notice's template is no longer approved.")]}
    for deputy, _values, _text, problem in templates.texts_for(notice, audience.sendable(), code):
        if problem:
            who = getattr(deputy, "name", None) or ""
            return {"params": [_("For %(name)s: %(problem)s", name=who, problem=problem)]}
    return {}
def check_before_saving(data, submitting=False):
    """NoticeInvalid, before anything is written, for a notice that could not go out as given:
    too long, a time already past, and (when it is to be submitted now) nobody to send to. The
    compose page saves nothing then, so a failed submission leaves no stray draft behind."""
    probe = Notice(status=DRAFT, **notice_fields(data))  # never added to the session
    code = None
    if probe.reply_mode != "none":
        code = allocate_reply_code()  # the code it would get now, for the length of the instruction
        db.session.rollback()  # release the allocation lock; nothing was written
    try:
        check_sendable(probe, code)
    except NoticeInvalid as exc:
        errors = exc.errors if submitting else {k: v for k, v in exc.errors.items() if k != "audience"}
        if errors:
            raise NoticeInvalid(errors) from None


# --- transitions ---------------------------------------------------------------------------------

def submit(notice, actor):
    """Ask for approval (or approve at once when approval is turned off)."""
    _lock(notice)
    if not actor.can("compose"):
        raise NotAllowed(_("Your role does not allow submitting notices."))
    _require(notice, EDITABLE, _("Only a draft can be submitted; this notice is %(status)s."))
    # A fresh code each time: one kept from a rejected submission may have been given away since.
    code = allocate_reply_code() if notice.reply_mode != "none" else None
    check_sendable(notice, code)
    notice.reply_code = code
    notice.status, notice.submitted_at = PENDING_APPROVAL, utcnow()
    notice.rejection_reason = None
    record("notice.submit", notice, actor=actor)
    if not approval_required():
        record("notice.approve", notice, actor="system", reason="approval turned off")
        return _start(notice, approver=None)
    db.session.commit()
    return notice


def why_not_decide(notice, user, verb="approve"):
    """Why `user` may not approve (verb "approve") or reject the notice, or None when they may.
    Four eyes: neither its author nor whoever last changed it decides on it."""
    approving = verb == "approve"
    if not user.can("approve"):
        return _("Your role does not allow approving notices.") if approving else \
            _("Your role does not allow rejecting notices.")
    if user.id == notice.created_by_id:
        return _("You wrote this notice; another approver must approve it.") if approving else \
            _("You wrote this notice; another approver must decide on it.")
    if user.id == notice.last_edited_by_id:
        return _("You made the last change to this notice; another approver must approve it.") if approving else \
            _("You made the last change to this notice; another approver must decide on it.")
    return None


def may_decide(notice, user):
    return why_not_decide(notice, user) is None


def _check_decider(notice, actor, verb):
    refusal = why_not_decide(notice, actor, verb)
    if refusal:
        raise NotAllowed(refusal)


def approve(notice, actor):
    _lock(notice)
    _check_decider(notice, actor, "approve")
    _require(notice, (PENDING_APPROVAL,), _("Only a notice waiting for approval can be approved; this one is "
                                           "%(status)s."))
    record("notice.approve", notice, actor=actor)
    return _start(notice, approver=actor)


def reject(notice, actor, reason):
    _lock(notice)
    _check_decider(notice, actor, "reject")
    _require(notice, (PENDING_APPROVAL,), _("Only a notice waiting for approval can be rejected; this one is "
                                           "%(status)s."))
    reason = (reason or "").strip()
    if not reason:
        raise NoticeInvalid({"reason": [_("Say why the notice is rejected.")]})
    notice.status, notice.rejected_at, notice.rejected_by_id = REJECTED, utcnow(), actor.id
    notice.rejection_reason = reason[:500]
    record("notice.reject", notice, actor=actor, reason=notice.rejection_reason)
    db.session.commit()
    return notice


def cancel(notice, actor):
    """Stop a notice that has not completed; messages not yet handed to the gateway are cancelled.
    When this returns, no further message of the notice will be claimed for sending."""
    from notifier.notices.dispatch import cancel_messages

    _lock(notice)
    if not actor.can("compose"):
        raise NotAllowed(_("Your role does not allow cancelling notices."))
    _require(notice, OPEN_STATUSES, _("This notice is %(status)s and can no longer be cancelled."))
    was = notice.status
    notice.status, notice.cancelled_at, notice.cancelled_by_id = CANCELLED, utcnow(), actor.id
    record("notice.cancel", notice, actor=actor, was=was)
    db.session.commit()  # dispatch sees it before writing another chunk (it locks the row too)
    cancel_messages(notice.id)
    return notice


def _start(notice, approver):
    """Approved: wait for the scheduled time or quiet hours, or start dispatch now."""
    from notifier.notices.dispatch import request_dispatch

    now = utcnow()
    notice.approved_at, notice.approved_by_id = now, getattr(approver, "id", None)
    notice.send_after = send_after(notice, now)
    notice.status = SCHEDULED if notice.send_after > now else APPROVED
    if notice.status == SCHEDULED:
        record("notice.schedule", notice, actor="system", send_after=notice.send_after.isoformat())
    db.session.commit()
    if notice.status == APPROVED:
        request_dispatch(notice.id)
    return notice


# --- helpers ------------------------------------------------------------------------------------

def _lock(notice):
    """Re-read the row under a lock, so two people (or a person and dispatch) cannot both move it."""
    db.session.refresh(notice, with_for_update=True)


def _require(notice, allowed, message):
    if notice.status not in allowed:
        from notifier.notices.models import STATUS_LABELS

        db.session.rollback()
        raise WorkflowError(message % {"status": STATUS_LABELS.get(notice.status, notice.status)})


def open_code_condition(now=None):
    now = now or utcnow()
    return and_(
        Notice.reply_code.is_not(None),
        Notice.status.not_in((CANCELLED, REJECTED, DRAFT)),
        or_(Notice.reply_deadline > now - timedelta(days=CODE_HOLD_DAYS),
            and_(Notice.reply_deadline.is_(None),
                 Notice.created_at > now - timedelta(days=CODE_OPEN_DAYS + CODE_HOLD_DAYS))),
    )


def allocate_reply_code():
    """The smallest code no open notice uses. Serialised on PostgreSQL with a transaction lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(4004)"))
    used = set(db.session.scalars(select(Notice.reply_code).where(open_code_condition())))
    for number in CODE_RANGE:
        if str(number) not in used:
            return str(number)
    raise WorkflowError(_("Every reply code is in use; close older notices first."))


def is_final(notice):
    return notice.status in (COMPLETED, CANCELLED)


__all__ = ["WorkflowError", "NotAllowed", "NoticeInvalid", "create_notice", "update_notice", "submit", "approve",
           "reject", "cancel", "may_decide", "why_not_decide", "check_sendable", "longest_text", "notice_fields", "SENDING"]
