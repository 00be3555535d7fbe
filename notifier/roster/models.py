from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import validates

from notifier.extensions import db
from notifier.roster.pinyin import KEY_LENGTH, name_sort_key
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

# The four levels of people's congress a deputy may sit at, highest first.
LEVEL_CODES = ("national", "provincial", "municipal", "county")
LEVEL_LABELS = {
    "national": _l("National"),
    "provincial": _l("Provincial"),
    "municipal": _l("Municipal"),
    "county": _l("County"),
}

deputy_levels = db.Table(
    "deputy_levels",
    db.Column("deputy_id", db.ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
    db.Column("level_code", db.ForeignKey("levels.code"), primary_key=True, index=True),
)

# Groups a deputy belongs to (代表小组, 代表团, 联络站): who meets and works together.
GROUP, DELEGATION, STATION = "group", "delegation", "station"
GROUP_KINDS = (GROUP, DELEGATION, STATION)
GROUP_KIND_LABELS = {
    GROUP: _l("Deputy group"),
    DELEGATION: _l("Delegation"),
    STATION: _l("Liaison station"),
}

deputy_group_members = db.Table(
    "deputy_group_members",
    db.Column("deputy_id", db.ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
    db.Column("group_id", db.ForeignKey("deputy_groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)

deputy_tags = db.Table(
    "deputy_tags",
    db.Column("deputy_id", db.ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Level(db.Model):
    """One of the four fixed levels; rows are created by the first migration."""

    __tablename__ = "levels"
    code = db.Column(db.String(16), primary_key=True)
    rank = db.Column(db.Integer, nullable=False)

    @property
    def label(self):
        return LEVEL_LABELS.get(self.code, self.code)

    def __str__(self):
        return str(self.label)


class Tag(db.Model):
    __tablename__ = "tags"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), nullable=False, unique=True)

    def __str__(self):
        return self.name


class DeputyGroup(db.Model):
    """A deputy group or delegation (代表小组, 代表团) or a liaison station (联络站)."""

    __tablename__ = "deputy_groups"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), nullable=False, unique=True)
    kind = db.Column(db.String(16), nullable=False, default=GROUP)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def kind_label(self):
        return GROUP_KIND_LABELS.get(self.kind, self.kind)

    def __str__(self):
        return self.name


class Deputy(db.Model):
    __tablename__ = "deputies"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), nullable=False, index=True)
    # The name's pinyin (notifier.roster.pinyin), what the roster is ordered by; set with the name.
    name_sort = db.Column(db.String(KEY_LENGTH), nullable=False, index=True,
                          default=lambda ctx: name_sort_key(ctx.get_current_parameters().get("name")))
    phone = db.Column(db.String(20), nullable=False, unique=True)  # E.164
    constituency = db.Column(db.String(128), nullable=False, default="")
    organisation = db.Column(db.String(255), nullable=False, default="")
    title = db.Column(db.String(128), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    opted_out = db.Column(db.Boolean, nullable=False, default=False)
    opted_out_at = db.Column(UTCDateTime)
    opted_out_via = db.Column(db.String(64))  # "sms:退订", "admin: reason", ...
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    levels = db.relationship(Level, secondary=deputy_levels, lazy="selectin", order_by=Level.rank)
    tags = db.relationship(Tag, secondary=deputy_tags, lazy="selectin", order_by=Tag.name)
    groups = db.relationship(DeputyGroup, secondary=deputy_group_members, lazy="selectin",
                             order_by=DeputyGroup.name)

    @validates("name")
    def _keep_sort_key(self, key, name):
        # Every way a name is set (the form, the API, the import, the demo) keeps the key with it.
        self.name_sort = name_sort_key(name)
        return name

    @property
    def level_codes(self):
        return [level.code for level in self.levels]

    @property
    def tag_names(self):
        return [tag.name for tag in self.tags]

    @property
    def group_names(self):
        """Deputy groups and delegations (the roster's 代表小组 column)."""
        return [g.name for g in self.groups if g.kind != STATION]

    @property
    def station_names(self):
        """Liaison stations (the roster's 联络站 column)."""
        return [g.name for g in self.groups if g.kind == STATION]

    def __str__(self):
        return f"{self.name} ({self.phone})"
