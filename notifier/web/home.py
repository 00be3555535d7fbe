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
        "levels": [(code, LEVEL_LABELS[code], by_level.get(code, 0), level_list_url(code)) for code in LEVEL_CODES],
        "total": total,
        "active": active,
        "inactive": total - active,
        "opted_out": opted_out,
    }
