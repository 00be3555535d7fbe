"""Notice fixtures: a small roster, a notice factory, and the delivery fixtures (simulator,
live server, real workers) reused from tests/delivery."""
import pytest
from sqlalchemy import insert

from notifier.accounts.models import User
from notifier.extensions import db
from notifier.roster.models import Deputy, Tag, deputy_levels, deputy_tags
from notifier.timeutil import utcnow
from tests.delivery.conftest import dctx, delivery_app, live_url, sim, sim_process, workers  # noqa: F401


def add_deputies(n, levels=("county",), tags=(), start=0, **fields):
    """n deputies in bulk (Core INSERTs), at `levels` with `tags`; returns their ids."""
    now = utcnow()
    rows = [{"name": f"代表{start + i}", "phone": f"+86139{start + i:08d}", "constituency": "第一选区",
             "organisation": "县政府", "title": "局长", "active": True, "opted_out": False,
             "created_at": now, "updated_at": now, **fields} for i in range(n)]
    ids = db.session.scalars(insert(Deputy).returning(Deputy.id), rows).all()
    if levels:
        db.session.execute(insert(deputy_levels), [{"deputy_id": i, "level_code": c} for i in ids for c in levels])
    for name in tags:
        tag = db.session.scalar(db.select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
            db.session.flush()
        db.session.execute(insert(deputy_tags), [{"deputy_id": i, "tag_id": tag.id} for i in ids])
    db.session.commit()
    return ids


@pytest.fixture
def roster(ctx):
    """Five county deputies (one also provincial), two opted out/inactive, two with a tag."""
    county = add_deputies(3, levels=("county",))
    both = add_deputies(1, levels=("provincial", "county"), tags=("教育",), start=10)
    tagged = add_deputies(1, levels=("municipal",), tags=("教育",), start=20)
    opted = add_deputies(1, levels=("county",), start=30, opted_out=True)
    inactive = add_deputies(1, levels=("county",), start=40, active=False)
    return {"county": county, "both": both, "tagged": tagged, "opted": opted, "inactive": inactive}


def user(u):
    """The fixture users are detached; workflow functions want a row of this session."""
    return db.session.get(User, u.id)


def notice_data(**overrides):
    data = {"title": "常委会会议通知", "body": "{name}代表：请于本周五上午九时参加县人大常委会会议。",
            "category": "meeting", "source": "congress", "audience": {"levels": ["county"]}, "reply": "confirm",
            "urgent": False}
    data.update(overrides)
    return data


@pytest.fixture
def make_user(make_quick_user):
    """These tests make many users: the quick ones (a cheap hash, no audit event)."""
    return make_quick_user
