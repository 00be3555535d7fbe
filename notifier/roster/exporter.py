"""Export the roster (and the blank template) as XLSX or CSV that the importer reads back unchanged.

Cells are made safe to open in a spreadsheet: a value that starts with = + - @ (or a tab or
carriage return) gets a leading apostrophe so it is never run as a formula, and the importer
removes exactly that apostrophe again. Numbers are written as text in the national form
("13800138000") so Excel neither runs "+86..." as a formula nor turns it into 1.38E+10.
"""
import csv
import io
import re
from copy import copy
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from notifier.extensions import db
from notifier.roster.levels import LEVEL_NAMES_ZH
from notifier.roster.models import (
    STATION,
    Deputy,
    DeputyGroup,
    Level,
    Tag,
    deputy_group_members,
    deputy_levels,
    deputy_tags,
)
from notifier.roster.phones import national_or_e164
from notifier.sql import id_in
from notifier.timeutil import utcnow

EXPORT_HEADERS = ("姓名", "手机号码", "代表层级", "选区/代表团", "工作单位", "职务", "标签", "状态", "代表小组", "联络站")
EXAMPLE_ROW = ("张三", "13800138000", "县级、市级", "城关镇选区", "城关镇人民政府", "镇长", "乡镇、连任", "启用",
               "城关代表小组", "城关镇人大代表联络站")
ACTIVE_NAMES = {True: "启用", False: "停用"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
EXPORT_BATCH = 2000  # deputies per database round trip
CSV_CHUNK_ROWS = 1000  # rows per streamed chunk
PROGRESS_ROWS = 5000
_WIDTHS = (12, 16, 16, 20, 30, 16, 20, 8, 20, 24)


def _needs_escape(text):
    # An apostrophe before a formula character is escaped too, so unescape_cell is exact.
    return text.startswith(FORMULA_STARTS) or (text.startswith("'") and _needs_escape(text[1:]))


_ESCAPE_FIRST = frozenset("".join(FORMULA_STARTS) + "'")  # a cell starting otherwise needs no look


def escape_cell(value):
    """Neutralise a text cell that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value[:1] in _ESCAPE_FIRST and _needs_escape(value):
        return "'" + value
    return value


# A number in E.164 is digits after a "+": in a text-typed XLSX cell it can never run as a
# formula, so it is written as it is, without the apostrophe that shows in the cell.
E164 = re.compile(r"\+\d{6,15}")


def escape_xlsx_cell(value):
    """escape_cell for a text-typed XLSX cell: the same, except that a phone number stays as it is."""
    if isinstance(value, str) and E164.fullmatch(value):
        return value
    return escape_cell(value)


def unescape_cell(value):
    """Undo escape_cell (for the importer): drop the apostrophe it added, and only that."""
    if isinstance(value, str) and value.startswith("'") and _needs_escape(value[1:]):
        return value[1:]
    return value


def deputy_row(deputy, mask=None):
    """A deputy as the cells of one exported row (before escaping), in EXPORT_HEADERS order;
    `mask` (number -> number) hides digits for users who see numbers masked."""
    masked = mask(deputy.phone) if mask else deputy.phone
    return (
        deputy.name,
        national_or_e164(deputy.phone) if masked == deputy.phone else masked,
        "、".join(LEVEL_NAMES_ZH[code] for code in deputy.level_codes),
        deputy.constituency or "",
        deputy.organisation or "",
        deputy.title or "",
        "、".join(deputy.tag_names),
        ACTIVE_NAMES[bool(deputy.active)],
        "、".join(deputy.group_names),
        "、".join(deputy.station_names),
    )


def csv_chunks(rows):
    """The CSV as byte chunks (one per batch of rows), UTF-8 with a byte-order mark: without it
    Excel reads the file as the local ANSI code page."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADERS)
    yield buffer.getvalue().encode("utf-8-sig")
    buffer.seek(0)
    buffer.truncate()
    count = 0
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
        count += 1
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue().encode("utf-8")


def _csv_bytes(rows):
    return b"".join(csv_chunks(rows))


def write_xlsx(target, rows, sheet_title, notes=(), progress=None):
    """Write the rows to `target` (a path or a binary file) with openpyxl's write_only mode: rows
    go to a temporary file as they are added, so memory does not grow with the roster."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for index, width in enumerate(_WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for text in EXPORT_HEADERS:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    # Every value cell is text-typed with the text format "@": one style, looked up once.
    model = WriteOnlyCell(sheet, value="x")
    model.number_format = "@"
    text_style = model._style
    count = 0
    for row in rows:
        cells = []
        for value in row:
            if value in (None, ""):
                cells.append(None)  # an empty cell, not an empty string
                continue
            cell = WriteOnlyCell(sheet, value=escape_xlsx_cell(value))
            cell.data_type = "s"  # text, always: never a formula, never a number
            cell._style = copy(text_style)
            cells.append(cell)
        sheet.append(cells)
        count += 1
        if progress is not None and count % PROGRESS_ROWS == 0:
            progress(count)
    if notes:
        notes_sheet = workbook.create_sheet(_("How to fill in"))
        notes_sheet.column_dimensions["A"].width = 100
        for line in notes:
            notes_sheet.append([escape_cell(str(line))])
    workbook.save(target)
    return count


def _xlsx_bytes(rows, sheet_title, notes=()):
    buffer = io.BytesIO()
    write_xlsx(buffer, rows, sheet_title, notes)
    return buffer.getvalue()


def _phone_writer(region=None):
    """national_or_e164 with a fast path: a home number whose country code belongs to the home
    region alone (+86: CN) is written as its digits after the code, which is what phonenumbers
    answers for it, without parsing each number (that was most of an export's time)."""
    import phonenumbers

    region = (region or current_app.config.get("DEFAULT_REGION") or "CN").upper()
    code = phonenumbers.country_code_for_region(region)
    prefix = f"+{code}" if code and len(phonenumbers.region_codes_for_country_code(code)) == 1 else None

    def write(e164):
        if prefix and e164.startswith(prefix) and e164[len(prefix):].isdigit():
            return e164[len(prefix):]
        return national_or_e164(e164, region)

    return write


def _names_by_deputy(statement):
    found = {}
    for deputy_id, *value in db.session.execute(statement):
        found.setdefault(deputy_id, []).append(value[0] if len(value) == 1 else tuple(value))
    return found


def _in_order(rows, ids):
    """Rows of an id list in the list's order (deputies removed since are left out)."""
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def roster_rows(query=None, mask=None, batch=EXPORT_BATCH, ids=None):
    """Export rows (tuples in EXPORT_HEADERS order, before escaping) of the deputies `query` (a
    Select of Deputy, its order kept) selects, or of `ids` in that order. Read `batch` deputies at a
    time through a server-side cursor as plain rows, with their levels, tags and groups in three
    queries per batch: no ORM objects, so memory stays flat however long the roster."""
    columns = (Deputy.id, Deputy.name, Deputy.phone, Deputy.constituency, Deputy.organisation, Deputy.title,
               Deputy.active)
    phone_text = _phone_writer()
    if ids is not None:
        batches = (_in_order(db.session.execute(db.select(*columns).where(id_in(Deputy.id, chunk))).all(), chunk)
                   for chunk in (ids[i:i + batch] for i in range(0, len(ids), batch)))
    else:
        if query is None:
            query = db.select(Deputy).order_by(Deputy.name_sort, Deputy.id)
        result = db.session.execute(query.with_only_columns(*columns).execution_options(yield_per=batch))
        batches = result.partitions()
    for chunk in batches:
        chunk_ids = [row.id for row in chunk]
        levels = _names_by_deputy(db.select(deputy_levels.c.deputy_id, deputy_levels.c.level_code)
                                  .join(Level, Level.code == deputy_levels.c.level_code)
                                  .where(id_in(deputy_levels.c.deputy_id, chunk_ids))
                                  .order_by(deputy_levels.c.deputy_id, Level.rank))
        tags = _names_by_deputy(db.select(deputy_tags.c.deputy_id, Tag.name)
                                .join(Tag, Tag.id == deputy_tags.c.tag_id)
                                .where(id_in(deputy_tags.c.deputy_id, chunk_ids))
                                .order_by(deputy_tags.c.deputy_id, Tag.name))
        groups = _names_by_deputy(db.select(deputy_group_members.c.deputy_id, DeputyGroup.name, DeputyGroup.kind)
                                  .join(DeputyGroup, DeputyGroup.id == deputy_group_members.c.group_id)
                                  .where(id_in(deputy_group_members.c.deputy_id, chunk_ids))
                                  .order_by(deputy_group_members.c.deputy_id, DeputyGroup.name))
        for row in chunk:
            masked = mask(row.phone) if mask else row.phone
            member_of = groups.get(row.id, ())
            yield (
                row.name,
                phone_text(row.phone) if masked == row.phone else masked,
                "、".join(LEVEL_NAMES_ZH[code] for code in levels.get(row.id, ())),
                row.constituency or "",
                row.organisation or "",
                row.title or "",
                "、".join(tags.get(row.id, ())),
                ACTIVE_NAMES[bool(row.active)],
                "、".join(name for name, kind in member_of if kind != STATION),
                "、".join(name for name, kind in member_of if kind == STATION),
            )


def _stamp():
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "Asia/Shanghai")
    return utcnow().astimezone(zone).strftime("%Y%m%d-%H%M")


def export_filename(fmt):
    return f"deputies-{_stamp()}.{fmt}"


def _check_format(fmt):
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        raise ValueError(_("Unknown export format %(format)s: use xlsx or csv.", format=fmt))
    return fmt


def export_roster(fmt="xlsx", query=None, mask=None):
    """The roster (all deputies, or those of a deputy_query Select) as (bytes, mimetype, filename),
    numbers through `mask` when given."""
    fmt = _check_format(fmt)
    if query is None:
        query = db.select(Deputy).order_by(Deputy.name_sort, Deputy.id)
    rows = roster_rows(query, mask)
    filename = export_filename(fmt)
    if fmt == "csv":
        return _csv_bytes(rows), CSV_MIME, filename
    return _xlsx_bytes(rows, _("Deputy list")), XLSX_MIME, filename


def template_notes():
    return (
        _("Fill in one deputy per row on the first sheet; the header row must stay."),
        _("Name (姓名) and mobile number (手机号码) are required; the number must be a mobile number."),
        _("Levels (代表层级): 全国, 省级, 市级, 县级; several separated by 、 or commas."),
        _("Tags (标签): several separated by 、 or commas."),
        _("Deputy groups (代表小组) and liaison stations (联络站): several separated by 、 or commas; a name "
          "ending in 代表团 is a delegation."),
        _("Status (状态): 启用 or 停用; blank means 启用 for new deputies."),
        _("Rows are matched by mobile number: importing again updates the deputies already there."),
    )


def roster_template(fmt="xlsx"):
    """The blank template (headers and one example row that imports cleanly)."""
    fmt = _check_format(fmt)
    if fmt == "csv":
        return _csv_bytes([EXAMPLE_ROW]), CSV_MIME, "deputies-template.csv"
    return _xlsx_bytes([EXAMPLE_ROW], _("Deputy list"), notes=template_notes()), XLSX_MIME, "deputies-template.xlsx"
