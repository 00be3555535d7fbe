"""Plain functions on deputies, called by the web UI, the API, the importer and the tests."""
import re
import unicodedata

from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from notifier.audit.service import record
from notifier.extensions import db
from notifier.roster.levels import LevelError, parse_levels
from notifier.roster.models import DELEGATION, GROUP, STATION, Deputy, DeputyGroup, Level, Tag
from notifier.roster.phones import PhoneError, normalise_phone
from notifier.timeutil import utcnow

TEXT_FIELDS = ("name", "constituency", "organisation", "title")
FIELDS = ("name", "phone", "levels", "constituency", "organisation", "title", "tags", "groups", "stations", "active",
          "opted_out")
# Fields holding a list of names, compared as sets.
NAME_LISTS = ("levels", "tags", "groups", "stations")
TAG_SEPARATORS = re.compile(r"[,;、，；\n]+")
_TRUE = {"1", "true", "yes", "y", "on", "t", "active", "是", "启用", "有效", "正常", "在任", "在职", "√"}
_FALSE = {"0", "false", "no", "n", "off", "f", "inactive", "否", "停用", "无效", "禁用", "离任", "离职", "×"}


class DeputyInvalid(ValueError):
    """Field errors for a deputy: `errors` = {field: [message, ...]}."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


def max_length(field):
    """The column length of a text field of Deputy (or Tag.name for "tag")."""
    if field in ("tag", "group"):
        column = (Tag if field == "tag" else DeputyGroup).__table__.c.name
    else:
        column = Deputy.__table__.c[field]
    return column.type.length


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into a spreadsheet cell
    # Control characters and lone surrogates come from broken spreadsheets and pasted text;
    # PostgreSQL refuses NUL, so drop them rather than fail the whole save.
    text = _UNSTORABLE.sub("", str(value))
    return re.sub(r"\s+", " ", text).strip()


def _too_long(value, limit):
    return _("At most %(max)d characters (this has %(length)d).", max=limit, length=len(value))


def parse_bool(value):
    """True/False from a checkbox, JSON or a spreadsheet cell ("是", "停用", "1"...). None if unsure."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", _text(value)).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def split_tags(value):
    """A list, or a cell such as "乡镇, 妇女代表、连任" -> unique stripped names, in order."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    names = []
    for item in items:
        for name in TAG_SEPARATORS.split(unicodedata.normalize("NFKC", _text(item))):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


def deputy_fields(data, partial=False):
    """Validate and normalise the fields of `data` that are present; raise DeputyInvalid.

    Without `partial`, name and phone are required (a new deputy). Unknown keys are ignored.
    Returns {"name": str, "phone": E.164, "levels": [codes], "tags": [names], "active": bool, ...}.
    """
    errors, fields = {}, {}
    if not partial:
        for required in ("name", "phone"):
            if required not in data:
                data = {**data, required: None}
    for field in TEXT_FIELDS:
        if field not in data:
            continue
        value = _text(data[field])
        if field == "name" and not value:
            errors.setdefault(field, []).append(_("The name is missing."))
        elif len(value) > max_length(field):
            errors.setdefault(field, []).append(_too_long(value, max_length(field)))
        fields[field] = value
    if "phone" in data:
        try:
            fields["phone"] = normalise_phone(data["phone"])
        except PhoneError as exc:
            errors.setdefault("phone", []).append(str(exc))
    if "levels" in data:
        try:
            fields["levels"] = parse_levels(data["levels"])
        except LevelError as exc:
            errors.setdefault("levels", []).append(str(exc))
    if "tags" in data:
        try:
            fields["tags"] = split_tags(data["tags"])
        except TypeError:
            errors.setdefault("tags", []).append(_("Tags must be a list of names."))
        else:
            for name in fields["tags"]:
                if len(name) > max_length("tag"):
                    errors.setdefault("tags", []).append(_too_long(name, max_length("tag")))
    for field in ("groups", "stations"):
        if field in data:
            try:
                fields[field] = split_tags(data[field])
            except TypeError:
                errors.setdefault(field, []).append(_("Groups must be a list of names."))
            else:
                for name in fields[field]:
                    if len(name) > max_length("group"):
                        errors.setdefault(field, []).append(_too_long(name, max_length("group")))
    for field in ("active", "opted_out"):
        if field in data:
            value = parse_bool(data[field])
            if value is None:
                errors.setdefault(field, []).append(_("Expected yes or no, not %(value)s.", value=_text(data[field])))
            fields[field] = value
    if errors:
        raise DeputyInvalid(errors)
    return fields


def get_or_create_tags(names):
    """Tag rows for `names` (created as needed, in the current transaction), in the order given."""
    names = split_tags(names)
    if not names:
        return []
    found = {t.name: t for t in db.session.scalars(db.select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name in found:
            continue
        try:
            with db.session.begin_nested():  # another request may create the same tag right now
                tag = Tag(name=name)
                db.session.add(tag)
        except IntegrityError:
            tag = db.session.scalars(db.select(Tag).where(Tag.name == name)).one()
        found[name] = tag
    return [found[name] for name in names]


def group_kind_for(name, station=False):
    """A 联络站 column names liaison stations; in the 代表小组 column a name ending in 代表团 is a
    delegation, anything else a deputy group."""
    if station:
        return STATION
    return DELEGATION if name.endswith("代表团") else GROUP


def get_or_create_groups(names, station=False):
    """DeputyGroup rows for `names` (created as needed, in the current transaction), in order. A
    name already used by a group of another kind is that group: names are unique."""
    names = split_tags(names)
    if not names:
        return []
    found = {g.name: g for g in db.session.scalars(db.select(DeputyGroup).where(DeputyGroup.name.in_(names)))}
    for name in names:
        if name in found:
            continue
        try:
            with db.session.begin_nested():  # another request may create the same group right now
                group = DeputyGroup(name=name, kind=group_kind_for(name, station))
                db.session.add(group)
        except IntegrityError:
            group = db.session.scalars(db.select(DeputyGroup).where(DeputyGroup.name == name)).one()
        found[name] = group
    return [found[name] for name in names]


def all_levels():
    """{code: Level}: the four rows, loaded once by callers that set levels on many deputies."""
    return {level.code: level for level in db.session.scalars(db.select(Level))}


def phone_taken(phone, deputy_id=None):
    query = db.select(Deputy.id).where(Deputy.phone == phone)
    if deputy_id is not None:
        query = query.where(Deputy.id != deputy_id)
    return db.session.scalar(query) is not None


def _taken_error():
    return DeputyInvalid({"phone": [_("Another deputy already has this phone number.")]})


def current_values(deputy):
    """The fields of a deputy in the shape deputy_fields returns, for comparing."""
    return {
        "name": deputy.name,
        "phone": deputy.phone,
        "levels": deputy.level_codes,
        "constituency": deputy.constituency,
        "organisation": deputy.organisation,
        "title": deputy.title,
        "tags": deputy.tag_names,
        "groups": deputy.group_names,
        "stations": deputy.station_names,
        "active": deputy.active,
        "opted_out": deputy.opted_out,
    }


def changes_for(deputy, fields):
    """{field: (old, new)} for the fields that would change (levels and tags compared as sets)."""
    return changes_between(current_values(deputy) if deputy is not None else {}, fields)


def changes_between(current, fields):
    """changes_for against values in the shape of current_values (the importer reads them as rows)."""
    changed = {}
    for field, new in fields.items():
        old = current.get(field)
        if field in NAME_LISTS:
            if set(old or ()) != set(new):
                changed[field] = (old or [], new)
        elif old != new:
            changed[field] = (old, new)
    return changed


def apply_fields(deputy, fields, how="admin", tag_cache=None, levels=None):
    """Set `fields` on a deputy (no commit, no audit); returns {field: (old, new)} changed.
    Bulk callers pass `tag_cache` ({} to fill) and `levels` (all_levels()) to save a query per row."""
    changed = changes_for(deputy, fields)
    for field, (_old, new) in changed.items():
        if field == "levels":
            levels = levels or all_levels()
            deputy.levels = [levels[code] for code in new]
        elif field == "tags":
            if tag_cache is None:
                deputy.tags = get_or_create_tags(new)
            else:
                missing = [n for n in new if n not in tag_cache]
                tag_cache.update({t.name: t for t in get_or_create_tags(missing)})
                deputy.tags = [tag_cache[n] for n in new]
        elif field in ("groups", "stations"):
            # Each column owns its own kind of membership and leaves the other alone.
            station = field == "stations"
            kept = [g for g in deputy.groups if (g.kind == STATION) != station]
            deputy.groups = kept + [g for g in get_or_create_groups(new, station=station) if g not in kept]
        elif field == "opted_out":
            _set_opt_out_state(deputy, new, how)
        else:
            setattr(deputy, field, new)
    return changed


def _set_opt_out_state(deputy, opted_out, how):
    deputy.opted_out = opted_out
    deputy.opted_out_at = utcnow() if opted_out else None
    deputy.opted_out_via = (how or "")[:64] if opted_out else None


def _jsonable(changed):
    return {field: {"from": old, "to": new} for field, (old, new) in changed.items()}


def create_deputy(data, actor=None):
    """Create a deputy from a dict (see deputy_fields); raises DeputyInvalid. Commits."""
    fields = deputy_fields(data)
    if phone_taken(fields["phone"]):
        raise _taken_error()
    deputy = Deputy(name=fields["name"], phone=fields["phone"])
    db.session.add(deputy)
    apply_fields(deputy, {k: v for k, v in fields.items() if k not in ("name", "phone")}, how="admin")
    record("deputy.create", target=deputy, actor=actor, name=deputy.name, phone=deputy.phone)
    _commit_or_taken()
    return deputy


def update_deputy(deputy, data, actor=None):
    """Change the fields present in `data`; raises DeputyInvalid. Audits what changed. Commits."""
    fields = deputy_fields(data, partial=True)
    if "phone" in fields and fields["phone"] != deputy.phone and phone_taken(fields["phone"], deputy.id):
        raise _taken_error()
    changed = apply_fields(deputy, fields, how="admin")
    if changed:
        record("deputy.update", target=deputy, actor=actor, fields=sorted(changed), changes=_jsonable(changed))
        if "opted_out" in changed:
            action = "deputy.opt_out" if deputy.opted_out else "deputy.opt_in"
            record(action, target=deputy, actor=actor, reason="admin", phone=deputy.phone)
    _commit_or_taken()  # also commits what the caller staged with it (e.g. set_opted_out(commit=False))
    return deputy


def _commit_or_taken():
    try:
        db.session.commit()
    except IntegrityError:
        # Two requests gave the same number at once: the unique index is the last word.
        db.session.rollback()
        raise _taken_error() from None


def set_opted_out(deputy, opted_out, reason, actor=None, commit=True):
    """Stop (or resume) texting a deputy. `reason` says how ("sms:退订", "admin: asked by phone").

    Records opted_out_at/opted_out_via and an audit event "deputy.opt_out" / "deputy.opt_in".
    """
    opted_out = bool(opted_out)
    if deputy.opted_out == opted_out:
        return deputy
    _set_opt_out_state(deputy, opted_out, reason)
    record(
        "deputy.opt_out" if opted_out else "deputy.opt_in",
        target=deputy,
        actor=actor,
        reason=reason,
        phone=deputy.phone,
    )
    if commit:
        db.session.commit()
    return deputy


def deputy_query(q=None, levels=None, tags=None, active=None, opted_out=None, group_id=None):
    """A Select of Deputy, ordered by name. `q` matches name, organisation or part of the number;
    `levels` (codes or Chinese, raises LevelError) and `tags` (names) match any of them."""
    query = db.select(Deputy).order_by(Deputy.name_sort, Deputy.id)
    text = unicodedata.normalize("NFKC", q or "").strip()
    if text:
        conditions = [Deputy.name.icontains(text, autoescape=True), Deputy.organisation.icontains(text, autoescape=True)]
        digits = re.sub(r"[\s\-()+]", "", text)
        if digits.isdigit():
            conditions.append(Deputy.phone.contains(digits.lstrip("0") or digits, autoescape=True))
        query = query.where(or_(*conditions))
    codes = parse_levels(levels) if levels else []
    if codes:
        query = query.where(Deputy.levels.any(Level.code.in_(codes)))
    names = split_tags(tags) if tags else []
    if names:
        query = query.where(Deputy.tags.any(Tag.name.in_(names)))
    if group_id is not None:
        query = query.where(Deputy.groups.any(DeputyGroup.id == group_id))
    if active is not None:
        query = query.where(Deputy.active.is_(bool(active)))
    if opted_out is not None:
        query = query.where(Deputy.opted_out.is_(bool(opted_out)))
    return query


SEARCH_MAX_LENGTH = 50


def search_deputies(q, limit=20, full_numbers=True):
    """Deputies for a picker that searches as you type, in roster order: (rows, more).

    `q` matches part of the name, the name's pinyin from its start ("zhang", "zhang s" finds
    张三: the key is "zhang1 san1 张三", each typed word begins a syllable) or part of the
    number. For someone who sees numbers masked (`full_numbers` False) a number only matches by
    its last digits (up to 4, what the masked number shows), so hidden digits cannot be probed.
    Rows are (id, name, phone, active, opted_out); `more` says there were more than `limit`.
    """
    text = unicodedata.normalize("NFKC", q or "").strip()
    conditions = [Deputy.name.icontains(text, autoescape=True)]
    words = text.lower().split()
    if words and all(re.fullmatch(r"[a-z]+", w) for w in words):
        conditions.append(Deputy.name_sort.like("% ".join(words) + "%"))
    digits = re.sub(r"[\s\-()+]", "", text)
    if digits.isdigit():
        if full_numbers:
            conditions.append(Deputy.phone.contains(digits, autoescape=True))
        elif len(digits) <= 4:
            conditions.append(Deputy.phone.endswith(digits, autoescape=True))
    rows = db.session.execute(
        db.select(Deputy.id, Deputy.name, Deputy.phone, Deputy.active, Deputy.opted_out)
        .where(or_(*conditions)).order_by(Deputy.name_sort, Deputy.id).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def deputies_by_id(ids):
    """{id: (id, name, phone)} for the ids that are on the roster (one query)."""
    ids = sorted({i for i in ids if isinstance(i, int) and 0 < i < 2**31})
    if not ids:
        return {}
    rows = db.session.execute(db.select(Deputy.id, Deputy.name, Deputy.phone).where(Deputy.id.in_(ids))).all()
    return {r.id: r for r in rows}


def _iso(value):
    return value.isoformat() if value is not None else None


def deputy_to_dict(deputy):
    return {
        "id": deputy.id,
        "name": deputy.name,
        "phone": deputy.phone,
        "levels": deputy.level_codes,
        "constituency": deputy.constituency,
        "organisation": deputy.organisation,
        "title": deputy.title,
        "tags": deputy.tag_names,
        "groups": deputy.group_names,
        "stations": deputy.station_names,
        "active": deputy.active,
        "opted_out": deputy.opted_out,
        "opted_out_at": _iso(deputy.opted_out_at),
        "opted_out_via": deputy.opted_out_via,
        "created_at": _iso(deputy.created_at),
        "updated_at": _iso(deputy.updated_at),
    }
