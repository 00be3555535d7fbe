"""Deputy groups, delegations and liaison stations: the list with member counts, one group's
members. Memberships are set through the roster (import, the deputy form, the API)."""
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.roster.models import GROUP_KINDS, Deputy, DeputyGroup, deputy_group_members


def groups_with_counts(kind=None):
    """[(DeputyGroup, active members)], by kind (groups, delegations, stations) then name."""
    members = (select(deputy_group_members.c.group_id, func.count().label("n"))
               .join(Deputy, Deputy.id == deputy_group_members.c.deputy_id)
               .where(Deputy.active.is_(True)).group_by(deputy_group_members.c.group_id).subquery())
    query = (select(DeputyGroup, func.coalesce(members.c.n, 0))
             .outerjoin(members, members.c.group_id == DeputyGroup.id))
    if kind in GROUP_KINDS:
        query = query.where(DeputyGroup.kind == kind)
    rows = db.session.execute(query).all()
    order = {k: i for i, k in enumerate(GROUP_KINDS)}
    return sorted(((g, n) for g, n in rows), key=lambda item: (order.get(item[0].kind, 9), item[0].name))


def get_group(group_id):
    return db.session.get(DeputyGroup, group_id) if 0 < group_id < 2**31 else None


def members(group):
    """The group's deputies, active ones first, by name."""
    return db.session.scalars(select(Deputy).where(Deputy.groups.any(DeputyGroup.id == group.id))
                              .order_by(Deputy.active.desc(), Deputy.name_sort, Deputy.id)).all()


def group_to_dict(group, member_count=None):
    data = {"id": group.id, "name": group.name, "kind": group.kind}
    if member_count is not None:
        data["members"] = member_count
    return data
