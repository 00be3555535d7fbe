"""Who gets a notice: any of the chosen levels, tags, groups and individual deputies (a union), each
deputy once however many ways they match. Opted-out and inactive deputies are counted as skipped."""
import dataclasses

from flask_babel import gettext as _
from sqlalchemy import false, or_, select

from notifier.extensions import db
from notifier.roster.levels import LevelError, parse_levels
from notifier.roster.models import Deputy, DeputyGroup, Level, Tag

COLUMNS = (Deputy.id, Deputy.name, Deputy.phone, Deputy.title, Deputy.organisation, Deputy.constituency,
           Deputy.active, Deputy.opted_out)


class AudienceError(ValueError):
    """A bad audience spec; .errors = {field: [messages]} (translated)."""

    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclasses.dataclass
class Audience:
    rows: list  # Row(id, name, phone, title, organisation, constituency, active, opted_out), by id
    opted_out: int
    inactive: int

    @property
    def matched(self):
        return len(self.rows)

    @property
    def recipients(self):
        return self.matched - self.opted_out - self.inactive

    def sendable(self):
        return [r for r in self.rows if r.active and not r.opted_out]

    def to_dict(self):
        return {"matched": self.matched, "recipients": self.recipients,
                "skipped": {"opted_out": self.opted_out, "inactive": self.inactive}}


def skip_reason(row):
    if row.opted_out:
        return "opted out"
    if not row.active:
        return "inactive"
    return None


def clean_spec(spec):
    """{"levels": [codes], "tags": [names], "groups": [group ids], "deputy_ids": [ints]}, validated;
    AudienceError otherwise."""
    spec = spec or {}
    errors = {}
    try:
        levels = parse_levels(spec.get("levels") or [])
    except LevelError as exc:
        errors["levels"] = [str(exc)]
        levels = []
    tags = sorted({str(t).strip() for t in spec.get("tags") or [] if str(t).strip()})
    if tags:
        known = set(db.session.scalars(select(Tag.name).where(Tag.name.in_(tags))))
        unknown = [t for t in tags if t not in known]
        if unknown:
            errors["tags"] = [_("No such tag: %(tags)s.", tags=", ".join(unknown))]
    groups = _ids(spec.get("groups"), "groups", _("Group ids are whole numbers."), errors)
    if groups and "groups" not in errors:
        found = set(db.session.scalars(select(DeputyGroup.id).where(DeputyGroup.id.in_(groups))))
        missing = [str(i) for i in groups if i not in found]
        if missing:
            errors["groups"] = [_("No group with id %(ids)s.", ids=", ".join(missing[:10]))]
    ids = []
    for value in spec.get("deputy_ids") or []:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            errors["deputy_ids"] = [_("Deputy ids are whole numbers.")]
            break
        ids.append(int(value))
    ids = sorted(set(ids))
    if ids and "deputy_ids" not in errors:
        found = set(db.session.scalars(select(Deputy.id).where(Deputy.id.in_([i for i in ids if i < 2**31]))))
        missing = [str(i) for i in ids if i not in found]
        if missing:
            errors["deputy_ids"] = [_("No deputy with id %(ids)s.", ids=", ".join(missing[:10]))]
    if errors:
        raise AudienceError(errors)
    spec = {"levels": levels, "tags": tags, "deputy_ids": ids}
    if groups:
        spec["groups"] = groups  # only when used: notices written before groups keep their spec
    return spec


def _ids(values, key, message, errors):
    ids = []
    for value in values or []:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() \
                or int(value) >= 2**31:
            errors[key] = [message]
            return []
        ids.append(int(value))
    return sorted(set(ids))


def audience_query(spec):
    """A Select of the audience's columns: deputies matching any level, any tag, or listed."""
    conditions = []
    if spec.get("levels"):
        conditions.append(Deputy.levels.any(Level.code.in_(spec["levels"])))
    if spec.get("tags"):
        conditions.append(Deputy.tags.any(Tag.name.in_(spec["tags"])))
    if spec.get("groups"):
        conditions.append(Deputy.groups.any(DeputyGroup.id.in_(spec["groups"])))
    if spec.get("deputy_ids"):
        conditions.append(Deputy.id.in_(spec["deputy_ids"]))
    # EXISTS subqueries, not joins: a deputy at two levels or with two tags is one row.
    return select(*COLUMNS).where(or_(*conditions) if conditions else false()).order_by(Deputy.id)


def resolve(spec):
    """The audience of a (cleaned) spec, with how many will be skipped and why."""
    rows = db.session.execute(audience_query(spec)).all()
    opted_out = sum(1 for r in rows if r.opted_out)
    inactive = sum(1 for r in rows if r.active is False and not r.opted_out)
    return Audience(rows=rows, opted_out=opted_out, inactive=inactive)
