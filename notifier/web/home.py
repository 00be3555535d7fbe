"""The overview on the home page: how many deputies there are, by level and by state."""
from sqlalchemy import func

from notifier.extensions import db
from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS, Deputy, deputy_levels


def roster_overview():
    from notifier.web.roster_views import level_list_url

    by_level = dict(
        db.session.execute(
            db.select(deputy_levels.c.level_code, func.count())
            .join(Deputy, Deputy.id == deputy_levels.c.deputy_id)
            .where(Deputy.active.is_(True))
            .group_by(deputy_levels.c.level_code)
        ).all()
    )
    total, active, opted_out = db.session.execute(
        db.select(
            func.count(),
            func.count().filter(Deputy.active.is_(True)),
            func.count().filter(Deputy.opted_out.is_(True)),
        ).select_from(Deputy)
    ).one()
    return {
        # The counts are of active deputies, so the links list the active ones.
        "levels": [(code, LEVEL_LABELS[code], by_level.get(code, 0), level_list_url(code, active=True))
                   for code in LEVEL_CODES],
        "total": total,
        "active": active,
        "inactive": total - active,
        "opted_out": opted_out,
    }


FAILED_DAYS = 7  # how far back the home page looks for texts that did not reach a deputy


def work_items(user):
    """The day's work on the home page: (key, label, count, url) for what needs doing, each count
    made with the very query of the list it links to, so the two always agree."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from flask import current_app, url_for
    from flask_babel import lazy_gettext as _l

    from notifier.reports.log import log_query, parse_filters
    from notifier.timeutil import utcnow
    from notifier.web.notice_views import approval_queue_query, notice_list_query
    from notifier.web.reply_views import inbox_query

    def count(query):
        return db.session.scalar(db.select(func.count()).select_from(query.order_by(None).subquery())) or 0

    items = []
    if user.can("approve"):
        items.append(("approvals", _l("Waiting for my approval"), count(approval_queue_query(user)),
                      url_for("approvals.index", mine=1)))
    if user.can("compose"):
        for key, status, label in (("drafts", "draft", _l("My drafts")),
                                   ("rejected", "rejected", _l("My rejected notices"))):
            args = {"status": status, "author": str(user.id)}
            items.append((key, label, count(notice_list_query(args)), url_for("notices.index", **args)))
    args = {"status": "sending"}
    items.append(("sending", _l("Notices sending now"), count(notice_list_query(args)), url_for("notices.index", **args)))
    args = {"show": "unread"}
    items.append(("unread", _l("Unread replies"), count(inbox_query(args)), url_for("replies.index", **args)))
    today = utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    since = (today - timedelta(days=FAILED_DAYS - 1)).isoformat()
    for key, status, label in (("failed", "failed", _l("Texts failed (last 7 days)")),
                               ("undelivered", "undelivered", _l("Texts not delivered (last 7 days)"))):
        args = {"status": status, "since": since}
        f, _problems = parse_filters(args)
        items.append((key, label, count(log_query(f)), url_for("message_log.index", **args)))
    return items
