"""Import the roster from the spreadsheets county offices actually have.

A file is read in full and checked before anything is written: every bad row is reported with
its row number as the spreadsheet shows it (header = row 1), the column header and a reason.
Rows are matched to deputies by their E.164 number; the columns present in the file are
authoritative for the rows in it, and absent columns leave those fields alone.
"""
import csv
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from notifier.audit.service import record
from notifier.extensions import db
from notifier.roster.exporter import unescape_cell
from notifier.roster.models import Deputy
from notifier.roster.service import (
    DeputyInvalid,
    all_levels,
    apply_fields,
    changes_between,
    deputy_fields,
)
from notifier.sql import id_in
from notifier.timeutil import utcnow

ANALYZE_AFTER = 1000  # new deputies in one import that make the table statistics worth refreshing

# Header synonyms, in their normalised form (see _header_key). First match wins.
COLUMN_SYNONYMS = {
    "name": ("姓名", "代表姓名", "name", "fullname"),
    "phone": ("手机号码", "手机号", "手机", "联系电话", "电话", "电话号码", "移动电话", "phone", "mobile",
              "phonenumber", "mobilephone", "cellphone"),
    "levels": ("代表层级", "层级", "级别", "代表级别", "levels", "level"),
    "constituency": ("选区/代表团", "选区", "代表团", "constituency", "delegation"),
    "organisation": ("工作单位及职务", "工作单位", "单位", "organisation", "organization"),
    "title": ("职务", "title"),
    "tags": ("标签", "分组", "tags", "tag", "groups"),
    "groups": ("代表小组", "所属代表小组", "代表组", "小组", "deputygroup", "deputygroups"),
    "stations": ("联络站", "代表联络站", "所属联络站", "联络站点", "liaisonstation", "liaisonstations", "station"),
    "active": ("状态", "active", "status"),
}
_HEADER_LOOKUP = {synonym: field for field, synonyms in COLUMN_SYNONYMS.items() for synonym in synonyms}
HEADER_SEARCH_ROWS = 10  # a title row ("某县人大代表名单") may sit above the header
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_PARTS = 1000  # a workbook of one sheet has a dozen


class RosterFileError(ValueError):
    """The file as a whole cannot be imported (wrong type, unreadable, empty, no name/phone column)."""


@dataclass
class RowIssue:
    row: int  # as the spreadsheet shows it: the header is row 1
    column: str  # the header as written in the file (or the field name)
    message: str

    def to_dict(self):
        return asdict(self)


@dataclass
class PlannedRow:
    """A valid row and what importing it does: "create", "update" or "unchanged"."""

    row: int
    action: str
    name: str
    phone: str
    fields: dict
    changed: list = field(default_factory=list)
    deputy_id: int | None = None

    def to_dict(self):
        return asdict(self)


@dataclass
class ImportPreview:
    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    total: int = 0
    columns: dict = field(default_factory=dict)
    ignored_columns: list = field(default_factory=list)
    filename: str = ""
    applied: bool = False
    _deputies: dict = field(default_factory=dict, repr=False, compare=False)  # phone -> _Current

    @property
    def error_rows(self):
        return len({issue.row for issue in self.errors})

    def to_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [issue.to_dict() for issue in self.errors],
            "total": self.total,
            "ignored_columns": list(self.ignored_columns),
        }


# --- reading files ------------------------------------------------------------------------------


def _header_key(text):
    """Normalise a header: full-width forms, case, spaces, trailing colons and '*' do not matter."""
    key = unicodedata.normalize("NFKC", str(text or "")).lower()
    key = re.sub(r"\s+", "", key).strip("*:")
    return key


def _field_for_header(text):
    key = _header_key(text)
    if key in _HEADER_LOOKUP:
        return _HEADER_LOOKUP[key]
    bare = re.sub(r"\(.*?\)$", "", key).strip("*:")  # "手机号码(必填)"
    return _HEADER_LOOKUP.get(bare)


def _decode(data):
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise RosterFileError(_("The file starts as UTF-16 text but is cut short or damaged; "
                                    "save it again as CSV or .xlsx.")) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # what Chinese Excel writes for "CSV"
    except UnicodeDecodeError:
        raise RosterFileError(_("The file's characters cannot be read. Save it as a CSV file in UTF-8 or GB18030, "
                                "or upload the Excel file itself.")) from None


def _csv_rows(data):
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterFileError(_("This is not a CSV file."))
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    if first_line.count(delimiter) == 0:
        delimiter = ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise RosterFileError(_("The CSV file could not be read: %(error)s", error=str(exc))) from None


def _check_unpacked_size(data):
    """Refuse an .xlsx whose parts unpack to more than ROSTER_MAX_UNPACKED_BYTES before reading
    any of it. The sizes are the archive's own; zipfile never unpacks a part beyond its stated
    size (and fails its checksum instead), so they cannot understate what gets unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise RosterFileError(_("The Excel file could not be read.")) from None
    limit = current_app.config["ROSTER_MAX_UNPACKED_BYTES"]
    if len(parts) > MAX_XLSX_PARTS or sum(part.file_size for part in parts) > limit:
        raise RosterFileError(_("The Excel file unpacks to more than %(size)d MB; split it or save it as CSV.",
                                size=max(1, limit // (1024 * 1024))))


def _xlsx_rows(data):
    import openpyxl

    _check_unpacked_size(data)
    # A damaged workbook makes openpyxl raise almost anything (a zip, XML, key or index error):
    # whatever it raises while reading the file means the file cannot be read.
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001
        raise RosterFileError(_("The Excel file could not be read.")) from None
    try:
        if not workbook.worksheets:
            raise RosterFileError(_("The Excel file has no sheet."))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions; read to the real end
        yield from sheet.iter_rows(values_only=True)
    except RosterFileError:
        raise
    except Exception:  # noqa: BLE001
        raise RosterFileError(_("The Excel file is damaged: part of it cannot be read. Open it in Excel, "
                                "save it again as .xlsx and upload that.")) from None
    finally:
        workbook.close()


def read_rows(data, filename):
    """Yield (row number, [cell values]) of the first sheet of a CSV or XLSX file."""
    if not data:
        raise RosterFileError(_("The file is empty."))
    extension = os.path.splitext(filename or "")[1].lower()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(_("Old Excel files (.xls) are not supported: save the file as .xlsx or CSV."))
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data)
    elif extension in (".xlsx", ".xlsm"):
        raise RosterFileError(_("The Excel file could not be read."))
    elif extension in (".csv", ".txt", ".tsv", ""):
        rows = _csv_rows(data)
    else:
        raise RosterFileError(_("Upload a CSV or XLSX file (not %(extension)s).", extension=extension))
    for number, cells in enumerate(rows, start=1):
        yield number, list(cells or ())


def _is_blank(cells):
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _cell(cells, index):
    value = cells[index] if index < len(cells) else None
    if isinstance(value, str):
        value = unescape_cell(value.strip()).strip()
    return value


def _find_header(rows):
    """Consume rows up to the header; return (row number, {field: index}, columns, ignored)."""
    seen = []
    for number, cells in rows:
        if _is_blank(cells):
            continue
        seen.append(cells)
        mapping, columns, ignored = {}, {}, []
        for index, cell in enumerate(cells):
            text = _header_text(cell)
            if not text:
                continue
            field_name = _field_for_header(text)
            if field_name and field_name not in mapping:
                mapping[field_name] = index
                columns[field_name] = text
            else:
                ignored.append(text)
        if "name" in mapping and "phone" in mapping:
            return number, mapping, columns, ignored
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise RosterFileError(_("The file has no rows."))
    headers = "、".join(filter(None, (_header_text(c) for c in seen[0]))) or "-"
    raise RosterFileError(
        _(
            "No name and phone columns found (expected headers such as 姓名 and 手机号码; found: %(headers)s).",
            headers=headers,
        )
    )


def _header_text(cell):
    return "" if cell is None else unicodedata.normalize("NFC", str(cell)).strip()


# --- planning -----------------------------------------------------------------------------------


def _row_data(cells, mapping):
    data = {}
    for field_name, index in mapping.items():
        value = _cell(cells, index)
        if field_name == "active" and (value is None or value == ""):
            continue  # a blank status leaves it as it is (new deputies are active)
        data[field_name] = value
    return data


class _Current:
    """A deputy on the roster as the planner compares it: its id and current_values(), read as
    plain rows (no ORM objects: a 50,000-row re-import loaded them all just to compare)."""

    __slots__ = ("id", "values")

    def __init__(self, deputy_id, values):
        self.id, self.values = deputy_id, values


def _existing(phones):
    """{phone: _Current} for the numbers already on the roster, a thousand numbers per query."""
    from notifier.roster.models import (
        STATION,
        DeputyGroup,
        Level,
        Tag,
        deputy_group_members,
        deputy_levels,
        deputy_tags,
    )

    found = {}
    phones = list(phones)
    columns = (Deputy.id, Deputy.name, Deputy.phone, Deputy.constituency, Deputy.organisation, Deputy.title,
               Deputy.active, Deputy.opted_out)
    for start in range(0, len(phones), 1000):
        rows = db.session.execute(db.select(*columns).where(Deputy.phone.in_(phones[start:start + 1000]))).all()
        if not rows:
            continue
        by_id = {}
        for row in rows:
            by_id[row.id] = {"name": row.name, "phone": row.phone, "levels": [], "constituency": row.constituency,
                             "organisation": row.organisation, "title": row.title, "tags": [], "groups": [],
                             "stations": [], "active": row.active, "opted_out": row.opted_out}
        ids = list(by_id)
        for deputy_id, code in db.session.execute(
                db.select(deputy_levels.c.deputy_id, deputy_levels.c.level_code)
                .join(Level, Level.code == deputy_levels.c.level_code)
                .where(id_in(deputy_levels.c.deputy_id, ids)).order_by(deputy_levels.c.deputy_id, Level.rank)):
            by_id[deputy_id]["levels"].append(code)
        for deputy_id, name in db.session.execute(
                db.select(deputy_tags.c.deputy_id, Tag.name).join(Tag, Tag.id == deputy_tags.c.tag_id)
                .where(id_in(deputy_tags.c.deputy_id, ids)).order_by(deputy_tags.c.deputy_id, Tag.name)):
            by_id[deputy_id]["tags"].append(name)
        for deputy_id, name, kind in db.session.execute(
                db.select(deputy_group_members.c.deputy_id, DeputyGroup.name, DeputyGroup.kind)
                .join(DeputyGroup, DeputyGroup.id == deputy_group_members.c.group_id)
                .where(id_in(deputy_group_members.c.deputy_id, ids))
                .order_by(deputy_group_members.c.deputy_id, DeputyGroup.name)):
            by_id[deputy_id]["stations" if kind == STATION else "groups"].append(name)
        for deputy_id, values in by_id.items():
            found[values["phone"]] = _Current(deputy_id, values)
    return found


def _deputies_to_update(rows):
    """The ORM deputies of the rows that change ({id: Deputy}), loaded only for those."""
    ids = [row.deputy_id for row in rows]
    found = {}
    for start in range(0, len(ids), 1000):
        for deputy in db.session.scalars(db.select(Deputy).where(Deputy.id.in_(ids[start:start + 1000]))):
            found[deputy.id] = deputy
    return found


def _plan(data, filename, progress=None):
    preview = ImportPreview(filename=filename or "")
    rows = read_rows(data, filename)
    header_row, mapping, columns, ignored = _find_header(rows)
    preview.columns, preview.ignored_columns = columns, ignored
    limit = current_app.config.get("ROSTER_MAX_ROWS", 50000)

    parsed, first_row_of = [], {}
    for number, cells in rows:
        if _is_blank(cells):
            continue
        preview.total += 1
        if progress is not None and preview.total % 1000 == 0:
            progress(preview.total, None, "reading")
        if preview.total > limit:
            raise RosterFileError(_("The file has more than %(limit)d rows; split it.", limit=limit))
        try:
            fields = deputy_fields(_row_data(cells, mapping))
        except DeputyInvalid as exc:
            for field_name, messages in exc.errors.items():
                for message in messages:
                    preview.errors.append(RowIssue(number, columns.get(field_name, field_name), message))
            continue
        phone = fields["phone"]
        if phone in first_row_of:
            preview.errors.append(
                RowIssue(
                    number,
                    columns["phone"],
                    _(
                        "Duplicate: this number already appears in row %(row)d.",
                        row=first_row_of[phone],
                    ),
                )
            )
            continue
        first_row_of[phone] = number
        parsed.append((number, fields))
    if header_row and preview.total == 0:
        raise RosterFileError(_("The file has a header but no deputies."))

    existing = preview._deputies = _existing(first_row_of)
    for number, fields in parsed:
        deputy = existing.get(fields["phone"])
        if deputy is None:
            action, changed = "create", []
        else:
            changed = sorted(changes_between(deputy.values, fields))
            action = "update" if changed else "unchanged"
        preview.rows.append(
            PlannedRow(
                row=number,
                action=action,
                name=fields["name"],
                phone=fields["phone"],
                fields=fields,
                changed=changed,
                deputy_id=deputy.id if deputy is not None else None,
            )
        )
    preview.created = sum(r.action == "create" for r in preview.rows)
    preview.updated = sum(r.action == "update" for r in preview.rows)
    preview.unchanged = sum(r.action == "unchanged" for r in preview.rows)
    preview.errors.sort(key=lambda issue: issue.row)
    return preview


def preview_import(data, filename):
    """What importing this file would do. Reads CSV (UTF-8 with or without BOM, GB18030) or XLSX;
    never writes. Raises RosterFileError for whole-file problems."""
    return _plan(data, filename)


INSERT_BATCH = 1000  # new deputies per INSERT
COPY_BATCH = 5000  # per COPY (PostgreSQL)


def _insert_created(rows, tag_cache, progress=None):
    """Insert the new deputies and their levels, tags and groups with COPY (PostgreSQL) or a few
    multi-row INSERTs per thousand rows (elsewhere) instead of ORM objects one by one (same fields and defaults as apply_fields gives
    a new deputy; the ORM session knows nothing of these rows)."""
    from notifier.roster.models import deputy_group_members, deputy_levels, deputy_tags
    from notifier.roster.pinyin import name_sort_key
    from notifier.roster.service import get_or_create_groups, get_or_create_tags

    if not rows:
        return
    tag_names = list(dict.fromkeys(n for r in rows for n in r.fields.get("tags", ()) if n not in tag_cache))
    for start in range(0, len(tag_names), INSERT_BATCH):
        tag_cache.update({t.name: t for t in get_or_create_tags(tag_names[start:start + INSERT_BATCH])})
    groups = {}
    for station in (False, True):
        column = "stations" if station else "groups"
        names = list(dict.fromkeys(n for r in rows for n in r.fields.get(column, ())))
        for start in range(0, len(names), INSERT_BATCH):
            found = get_or_create_groups(names[start:start + INSERT_BATCH], station=station)
            groups.update({(column, g.name): g for g in found})
    db.session.flush()  # new tags and groups get their ids
    now = utcnow()
    copy = db.session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(rows), COPY_BATCH if copy else INSERT_BATCH):
        chunk = rows[start:start + (COPY_BATCH if copy else INSERT_BATCH)]
        values = [{
            "name": r.fields["name"], "name_sort": name_sort_key(r.fields["name"]), "phone": r.phone,
            "constituency": r.fields.get("constituency", ""), "organisation": r.fields.get("organisation", ""),
            "title": r.fields.get("title", ""), "active": True if r.fields.get("active") is None else r.fields["active"],
            "opted_out": bool(r.fields.get("opted_out")), "opted_out_at": now if r.fields.get("opted_out") else None,
            "opted_out_via": "import" if r.fields.get("opted_out") else None, "created_at": now, "updated_at": now,
        } for r in chunk]
        ids = _copy_deputies(values) if copy else _insert_deputies(values)
        level_rows, tag_rows, group_rows = [], [], []
        for r in chunk:
            deputy_id = ids[r.phone]
            r.deputy_id = deputy_id
            level_rows += [(deputy_id, c) for c in dict.fromkeys(r.fields.get("levels", ()))]
            tag_rows += [(deputy_id, tag_cache[n].id) for n in r.fields.get("tags", ())]
            member_of = dict.fromkeys(groups[(column, n)].id for column in ("groups", "stations")
                                      for n in r.fields.get(column, ()))
            group_rows += [(deputy_id, g) for g in member_of]
        for assoc, assoc_rows in ((deputy_levels, level_rows), (deputy_tags, tag_rows),
                                  (deputy_group_members, group_rows)):
            if not assoc_rows:
                continue
            if copy:
                _copy(assoc.name, [c.name for c in assoc.columns], assoc_rows)
            else:
                names = [c.name for c in assoc.columns]
                db.session.execute(assoc.insert(), [dict(zip(names, row, strict=True)) for row in assoc_rows])
        if progress is not None:
            progress(start + len(chunk))


DEPUTY_COLUMNS = ("name", "name_sort", "phone", "constituency", "organisation", "title", "active", "opted_out",
                  "opted_out_at", "opted_out_via", "created_at", "updated_at")


def _insert_deputies(values):
    table = Deputy.__table__
    return dict(db.session.execute(table.insert().returning(table.c.phone, table.c.id), values).all())


def _copy(table, columns, rows):
    """COPY rows into a table on the session's own connection (so in its transaction)."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_deputies(values):
    """PostgreSQL: ids from the table's sequence, then one COPY (many times faster than INSERTs)."""
    ids = db.session.execute(text("SELECT nextval(pg_get_serial_sequence('deputies', 'id')) "
                                  "FROM generate_series(1, :n)"), {"n": len(values)}).scalars().all()
    _copy("deputies", ("id", *DEPUTY_COLUMNS),
          [(deputy_id, *(v[c] for c in DEPUTY_COLUMNS)) for deputy_id, v in zip(ids, values, strict=True)])
    return {v["phone"]: deputy_id for deputy_id, v in zip(ids, values, strict=True)}


def apply_import(data, filename, actor=None, progress=None):
    """Import every valid row in one transaction (rows with errors are left out), audit it as
    "roster.import" and commit. Returns the preview of what was done. `progress(done, total,
    stage)`, when given, hears how far reading ("reading") and saving ("saving") got."""
    preview = _plan(data, filename, progress=progress)
    tag_cache, levels = {}, all_levels()
    try:
        writes = [row for row in preview.rows if row.action != "unchanged"]
        existing = _deputies_to_update([row for row in writes if row.action == "update"])
        if progress is not None:
            progress(0, len(writes), "saving")
        created = [row for row in preview.rows if row.action == "create"]
        _insert_created(created, tag_cache, progress=(lambda n: progress(n, len(writes), "saving"))
                        if progress is not None else None)
        # One flush at commit rather than one before every tag lookup: thousands of rows in seconds.
        with db.session.no_autoflush:
            for count, row in enumerate((r for r in writes if r.action == "update"), start=len(created) + 1):
                apply_fields(existing[row.deputy_id], row.fields, how="import", tag_cache=tag_cache, levels=levels)
                if progress is not None and count % 1000 == 0:
                    progress(count, len(writes), "saving")
        record(
            "roster.import",
            actor=actor,
            filename=preview.filename,
            created=preview.created,
            updated=preview.updated,
            unchanged=preview.unchanged,
            errors=len(preview.errors),
            total=preview.total,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RosterFileError(
            _("The roster changed while the file was being imported; nothing was imported. Try again.")
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    preview.applied = True
    if preview.created >= ANALYZE_AFTER and db.session.get_bind().dialect.name == "postgresql":
        # Until autovacuum catches up, the planner sees the old, small roster: a re-import or a
        # notice's audience query right after a large first import was measured 8x slower (bench/roster_import_bench.py -n 50000).
        db.session.execute(text("ANALYZE deputies, deputy_levels, deputy_tags"))
        db.session.commit()
    return preview
