"""Export the roster (and the blank template) as XLSX or CSV that the importer reads back unchanged.

Cells are made safe to open in a spreadsheet: a value that starts with = + - @ (or a tab or
carriage return) gets a leading apostrophe so it is never run as a formula, and the importer
removes exactly that apostrophe again. Numbers are written as text in the national form
("13800138000") so Excel neither runs "+86..." as a formula nor turns it into 1.38E+10.
"""
import csv
import io
import re
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from notifier.extensions import db
from notifier.roster.levels import LEVEL_NAMES_ZH
from notifier.roster.models import Deputy
from notifier.roster.phones import national_or_e164
from notifier.timeutil import utcnow

EXPORT_HEADERS = ("姓名", "手机号码", "代表层级", "选区/代表团", "工作单位", "职务", "标签", "状态", "代表小组", "联络站")
EXAMPLE_ROW = ("张三", "13800138000", "县级、市级", "城关镇选区", "城关镇人民政府", "镇长", "乡镇、连任", "启用",
               "城关代表小组", "城关镇人大代表联络站")
ACTIVE_NAMES = {True: "启用", False: "停用"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
_WIDTHS = (12, 16, 16, 20, 30, 16, 20, 8, 20, 24)


def _needs_escape(text):
    # An apostrophe before a formula character is escaped too, so unescape_cell is exact.
    return text.startswith(FORMULA_STARTS) or (text.startswith("'") and _needs_escape(text[1:]))


def escape_cell(value):
    """Neutralise a text cell that a spreadsheet would run as a formula."""
    if isinstance(value, str) and _needs_escape(value):
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


def _csv_bytes(rows):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADERS)
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
    # UTF-8 with a byte-order mark: without it Excel reads the file as the local ANSI code page.
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_bytes(rows, sheet_title, notes=()):
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
    for row in rows:
        cells = []
        for value in row:
            if value in (None, ""):
                cells.append(None)  # an empty cell, not an empty string
                continue
            cell = WriteOnlyCell(sheet, value=escape_xlsx_cell(value))
            cell.data_type = "s"  # text, always: never a formula, never a number
            cell.number_format = "@"
            cells.append(cell)
        sheet.append(cells)
    if notes:
        notes_sheet = workbook.create_sheet(_("How to fill in"))
        notes_sheet.column_dimensions["A"].width = 100
        for line in notes:
            notes_sheet.append([escape_cell(str(line))])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _stamp():
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "Asia/Shanghai")
    return utcnow().astimezone(zone).strftime("%Y%m%d-%H%M")


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
    deputies = db.session.scalars(query).all()
    rows = [deputy_row(deputy, mask) for deputy in deputies]
    filename = f"deputies-{_stamp()}.{fmt}"
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
