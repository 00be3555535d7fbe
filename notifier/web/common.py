"""Helpers shared by the admin pages: local-time display, date filters, safe redirects."""
import re
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, has_app_context, url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model import typefmt
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

# Browsers drop tabs and newlines from a URL and read a backslash as a slash, so "/\\evil.example"
# or "/\t/evil.example" lead to another site: a path with any of them is refused outright.
_UNSAFE_IN_PATH = re.compile(r"[\\\x00-\x20\x7f]")


def safe_next(target, fallback=None):
    """`target` when it is a path on this site ("/notices/3?x=1"), else `fallback` (the home page)."""
    if (isinstance(target, str) and target.startswith("/") and not target.startswith("//")
            and not _UNSAFE_IN_PATH.search(target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return fallback or url_for("admin.index")


def number_mask():
    """number -> number as the logged-in user may see it (masked for the roles an administrator
    chose); decided once per request."""
    if "_number_mask" not in g:
        from flask_login import current_user

        from notifier.reports.masking import masker

        g._number_mask = masker(current_user)
    return g._number_mask


def masked(number):
    """Template filter: a deputy's number as this user may see it."""
    return number_mask()(number) if number else number


class CountedLabel:
    """A menu entry's name with a count badge, counted each time the menu is drawn; plain text
    where a string is wanted (the browser tab title)."""

    def __init__(self, name, count, badge_id, colour):
        self.name, self.count, self.badge_id, self.colour = name, count, badge_id, colour

    def __str__(self):
        return str(self.name)

    def __html__(self):
        text = escape(str(self))
        try:
            n = self.count()
        except Exception:  # noqa: BLE001  (outside a request or a broken session: no badge)
            return text
        if not n:
            return text
        return Markup('{} <span class="badge badge-pill badge-{}" id="{}">{}</span>').format(
            text, self.colour, self.badge_id, n)


def join_list(items, labels=None):
    """Items of a list as the reader's language writes them: 省级、县级 / Provincial, County.
    With `labels`, each item is shown by its label."""
    from flask_babel import get_locale

    separator = "、" if str(get_locale()).startswith("zh") else ", "
    return separator.join(str(labels.get(item, item) if labels else item) for item in items)


def readable_json(value):
    """Raw data (a gateway's callback) as indented JSON with its characters, not \\u escapes;
    autoescaping then makes it safe to show."""
    import json

    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def local_datetime(value):
    """Stored times are UTC; people read them in the configured TIMEZONE."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # an ISO time from a domain dict (the API's shape)
        value = datetime.fromisoformat(value)
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss")


def _bool(view, value, name=None):
    # A word, not an icon: readable in both languages and in screenshots/tests.
    return Markup('<span class="badge badge-{}">{}</span>').format(
        "success" if value else "light", _l("Yes") if value else _l("No")
    )


TYPE_FORMATTERS = dict(typefmt.BASE_FORMATTERS)
TYPE_FORMATTERS[datetime] = lambda view, value, name=None: local_datetime(value)
TYPE_FORMATTERS[bool] = _bool


def local_day_bounds(day):
    """[start, end) of a calendar day in the configured zone, as aware datetimes."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


class _LocalDateFilter(BaseSQLAFilter):
    """A date typed by a person means their local calendar day, not a UTC one."""

    def __init__(self, column, name, options=None, data_type=None):
        super().__init__(column, name, options, data_type="datepicker")

    def clean(self, value):
        return date.fromisoformat(value.strip())


class LocalDateOn(_LocalDateFilter):
    def apply(self, query, value, alias=None):
        start, end = local_day_bounds(value)
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)

    def operation(self):
        return _l("on")


class LocalDateFrom(_LocalDateFilter):
    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= local_day_bounds(value)[0])

    def operation(self):
        return _l("from")


class LocalDateUntil(_LocalDateFilter):
    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) < local_day_bounds(value)[1])

    def operation(self):
        return _l("until")


def download(data, mimetype, filename):
    """A file to save, never cached (rosters hold personal phone numbers)."""
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"},
    )


def db_options(query_options):
    """Filter options read from the database (tags, actions...). Flask-Admin first asks for them
    when the view is built, outside any request: answer nothing then, the real list per request."""

    def options():
        return query_options() if has_app_context() else []

    return options


class FreshFilterOptionsMixin:
    """Flask-Admin caches filter options when the view is built; re-read them on every list page."""

    def _get_filter_groups(self):
        self._refresh_filters_cache()
        return super()._get_filter_groups()
