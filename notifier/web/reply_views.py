"""Reply pages: the inbox (filters, read/handled marks, settings), a conversation per deputy with
a one-off reply form, and the tallies on the notice page (templates/replies/_tally.html, included
by notices/show.html) with the "remind those who have not replied" button. Thin views over
notifier.replies."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from notifier.delivery.models import STATUS_LABELS as MESSAGE_STATUS_LABELS
from notifier.extensions import db
from notifier.notices import followups, workflow
from notifier.notices.models import Notice
from notifier.replies import listing, reminders
from notifier.replies.models import KIND_LABELS, Reminder
from notifier.replies.outgoing import send_to_deputy
from notifier.replies.service import MARKS, conversation, mark, tally, unread_count
from notifier.replies.settings import get_setting, set_setting
from notifier.roster.models import Deputy
from notifier.web.base import ProtectedView
from notifier.web.common import CountedLabel, safe_next
from notifier.web.notice_views import follow_up, keyset_or_first, notice_or_404

TALLY_LABELS = {"confirmed": _l("Confirmed"), "declined": _l("Declined"), "received": _l("Received only"),
                "other": _l("Other replies"),
                "opted_out": _l("Opted out"), "none": _l("No reply yet")}
FILTERS = {"unread": _l("Unread"), "unhandled": _l("Not handled"), "unmatched": _l("Unknown senders")}


def _actor():
    return current_user._get_current_object()


def reply_tally(notice):
    """For the notice page: the tallies with names, the reminders sent, and whether the user may remind."""
    if notice.parent_id is not None:
        return None  # a follow-up's replies are counted on the notice it follows up, in one tally
    if notice.reply_mode == "none" or notice.status in ("draft", "pending_approval", "rejected", "approved",
                                                         "scheduled"):
        return None  # nobody has been texted yet: the notice page shows what will go out instead
    return {"tally": tally(notice.id), "labels": TALLY_LABELS,
            "reminders": db.session.scalars(select(Reminder).where(Reminder.notice_id == notice.id)
                                            .order_by(Reminder.id)).all(),
            "can_remind": current_user.can("compose") and notice.status in ("sending", "completed")}


def inbox_query(args):
    """The inbox's query for its filters (the home page counts with the same one)."""
    return listing.inbox_query(args)


class RepliesView(ProtectedView):
    permission = "view"

    @expose("/")
    def index(self):
        args = request.args
        page, filters, cursor = keyset_or_first(lambda c, d: listing.inbox_page(args, c, d), args)
        chosen = args.get("notice", "")
        notices = listing.notices_with_replies(int(chosen) if chosen.isdigit() and int(chosen) < 2**31 else None)
        settings = {key: get_setting(key) for key in ("reminders_without_approval", "direct_replies_without_approval",
                                                      "auto_remind_hours")}
        return self.render("replies/inbox.html", rows=page.rows, page=page, filters_now=filters, paged=bool(cursor),
                           args=args, kinds=KIND_LABELS, filters=FILTERS,
                           notices=notices, settings=settings)

    @expose("/mark", methods=("POST",))
    def mark_view(self):
        if not current_user.can("compose"):  # viewers read the inbox; handling it is office work
            abort(403)
        what = request.form.get("what")
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit() and int(i) < 2**31]
        if what not in MARKS:
            abort(400)
        changed = mark(ids, what, _actor())
        flash(_("Texts marked: %(n)s.", n=changed), "success")
        return redirect(safe_next(request.form.get("next"), url_for(".index")))

    @expose("/settings", methods=("POST",))
    def settings(self):
        if not current_user.can("admin"):
            abort(403)
        form = request.form
        hours = (form.get("auto_remind_hours") or "").strip()
        try:
            hours = float(hours) if hours else None
            if hours is not None and not 0 < hours <= 24 * 30:
                raise ValueError(hours)
        except ValueError:
            flash(_("Hours before the deadline must be a number between 0 and 720, or empty."), "error")
            return redirect(url_for(".index"))
        for key in ("reminders_without_approval", "direct_replies_without_approval"):
            wanted = form.get(key) == "1"
            if wanted != bool(get_setting(key)):
                set_setting(key, wanted, actor=_actor())
        if hours != get_setting("auto_remind_hours"):
            set_setting("auto_remind_hours", hours, actor=_actor())
        flash(_("Reply settings saved."), "success")
        return redirect(url_for(".index"))

    @expose("/notice/<int:notice_id>/tally")
    def notice_tally(self, notice_id):
        """The notice page's reply card alone: the page fetches it again while open, since
        replies keep coming in after the texts have gone out."""
        return render_template("replies/_tally.html", notice=notice_or_404(notice_id))

    @expose("/notice/<int:notice_id>/remind", methods=("POST",))
    def remind(self, notice_id):
        if not current_user.can("compose"):
            abort(403)
        follow, refused = follow_up(reminders.remind, notice_or_404(notice_id), _actor())
        if refused:
            return redirect(url_for("notices.show", notice_id=notice_id))
        flash(_("A reminder to %(n)s deputies was created (%(status)s).", n=len(follow.audience["deputy_ids"]),
                status=follow.status_label), "success")
        return redirect(url_for("notices.show", notice_id=notice_id))  # the reminder is listed there

    @expose("/deputy/<int:deputy_id>")
    def conversation(self, deputy_id):
        deputy = db.session.get(Deputy, deputy_id) if deputy_id < 2**31 else None
        if deputy is None:
            abort(404)
        entries = conversation(deputy.id)
        titles = dict(db.session.execute(select(Notice.id, Notice.title).where(
            Notice.id.in_({e.notice_id for e in entries if e.notice_id}))).all())
        unread = [e.id for e in entries if e.direction == "in"]
        return self.render("replies/conversation.html", deputy=deputy, entries=entries, titles=titles,
                           waiting=followups.waiting_replies(deputy.id),
                           kinds=KIND_LABELS, unread_ids=unread, status_labels=MESSAGE_STATUS_LABELS,
                           direct=bool(get_setting("direct_replies_without_approval")))

    @expose("/deputy/<int:deputy_id>/send", methods=("POST",))
    def send(self, deputy_id):
        if not current_user.can("compose"):
            abort(403)
        deputy = db.session.get(Deputy, deputy_id) if deputy_id < 2**31 else None
        if deputy is None:
            abort(404)
        try:
            how, thing = send_to_deputy(deputy, request.form.get("body", ""), _actor())
        except workflow.NotAllowed as exc:
            db.session.rollback()
            flash(str(exc), "error")
        except workflow.NoticeInvalid as exc:
            db.session.rollback()
            for messages in exc.errors.values():
                for message in messages if isinstance(messages, list) else [str(messages)]:
                    flash(message, "error")
        else:
            if how == "sent":
                flash(_("The text is on its way."), "success")
            elif thing.status == "pending_approval":
                flash(_("The reply waits for approval."), "success")
            else:
                flash(_("The text is on its way."), "success")
        return redirect(url_for(".conversation", deputy_id=deputy.id))


def register(admin):
    admin.app.add_template_global(reply_tally, "reply_tally")
    admin.add_view(RepliesView(name=CountedLabel(_l("Inbox"), unread_count, "inbox-badge", "primary"),
                               endpoint="replies", url="/replies"))
