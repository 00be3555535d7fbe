"""Streamed exports of the message log and of a notice's recipients, as CSV or XLSX.

Rows are read a batch at a time (keyset on id), so memory stays flat however many rows there
are: CSV is produced as the response is sent; XLSX is written with openpyxl's write_only mode to
a temporary file (its rows go to disk as they are added) which is then sent in chunks. Every text
cell is neutralised against formula injection (notifier.roster.exporter.escape_cell).
"""
import csv
import io
import os
import tempfile
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.reports.config import conf
from notifier.reports.errors import explain
from notifier.reports.log import level_labels, log_query, message_rows
from notifier.roster.exporter import escape_cell, escape_xlsx_cell
from notifier.roster.models import LEVEL_CODES

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 64 * 1024


def headers():
    return [_("Message"), _("Notice"), _("Notice title"), _("Deputy"), _("Levels"), _("Number"), _("Status"),
            _("Segments"), _("Attempts"), _("Created"), _("Queued"), _("Sent"), _("Delivered"), _("Failed"),
            _("Error code"), _("Error"), _("Reply"), _("Reply text"), _("Replied at")]


def _when(value, zone=None):
    # strftime in the configured zone, not Babel's formatter: this runs five times per exported row.
    if not value:
        return ""
    if isinstance(value, str):  # a reply's time comes as ISO text
        value = datetime.fromisoformat(value)
    # "YYYY-MM-DD HH:MM:SS" (isoformat is several times cheaper than strftime)
    return value.astimezone(zone or _zone()).replace(tzinfo=None).isoformat(" ", "seconds")


def _local(zone):
    """message_rows' `when` for an export: each time as the cell shows it, formatted once."""
    return lambda value: _when(value, zone) if value is not None else ""


def _level_names():
    return dict(zip(LEVEL_CODES, level_labels(LEVEL_CODES), strict=True))


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def cells(row, zone=None, levels=None, escape=escape_cell):
    """One exported row, every text cell escaped. The error column says what the code means when
    the gateway gave only a code."""
    reply = row["reply"] or {}
    zone = zone or _zone()
    levels = levels or _level_names()
    values = [row["id"], row["notice_id"] or "", row["notice_title"] or "", row["name"] or "",
              "、".join(levels.get(c, c) for c in row["levels"]), row["to"], row["status_label"], row["segments"], row["attempts"],
              # formatted already: the rows come from batches(when=_local(zone))
              *(row[k] for k in ("created_at", "queued_at", "sent_at", "delivered_at", "failed_at")),
              row["error_code"] or "", row["error_message"] or _error_title(row["error_code"]),
              reply.get("kind_label", ""), reply.get("body", ""), _when(reply.get("received_at"), zone)]
    return [escape(v) for v in values]


def _error_title(code):
    info = explain(code)
    return str(info.title) if info is not None else ""


def batches(query, mask=None, batch=None, when=None):
    """Dict rows of `query` (a select(Message)) in id order, `batch` rows per database round trip;
    `when`: how times are given (message_rows)."""
    batch = batch or conf("REPORTS_EXPORT_BATCH")
    after = 0
    while True:
        # Plain rows (attribute access like a Message), not ORM objects: cheaper, and nothing
        # accumulates in the session's identity map.
        messages = db.session.execute(query.with_only_columns(*Message.__table__.c).order_by(None)
                                      .where(Message.id > after).order_by(Message.id).limit(batch)).all()
        if not messages:
            return
        after = messages[-1].id
        yield message_rows(messages, mask, when)
        if len(messages) < batch:
            return


def count(query):
    """How many rows an export of `query` has (to decide whether a worker writes it)."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def notice_query(notice_id):
    return select(Message).where(Message.notice_id == notice_id)


def csv_chunks(query, mask=None):
    """The CSV (UTF-8 with a BOM, which Excel needs to read Chinese) in chunks of text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([escape_cell(h) for h in headers()])
    zone, levels = _zone(), _level_names()
    for rows in batches(query, mask, when=_local(zone)):
        for row in rows:
            writer.writerow(cells(row, zone, levels))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def write_xlsx(query, path, mask=None, title=None, progress=None):
    """Write the rows to an XLSX file at `path` (write_only: rows are flushed to disk as added).
    Text cells are text-typed, so a phone number needs no apostrophe in front of it.
    `progress(rows so far)` is called after each batch (a background job's progress bar)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(title or _("Messages"))[:31])
    sheet.append([escape_cell(h) for h in headers()])
    count, zone, levels = 0, _zone(), _level_names()
    for rows in batches(query, mask, when=_local(zone)):
        for row in rows:
            sheet.append([_text_cell(sheet, v) for v in cells(row, zone, levels, escape=escape_xlsx_cell)])
            count += 1
        if progress is not None:
            progress(count)
    workbook.save(path)
    return count


def _text_cell(sheet, value):
    if not isinstance(value, str) or not value:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # text, never a formula
    return cell


def xlsx_chunks(query, mask=None, title=None):
    """The XLSX file in byte chunks; the temporary file is removed once sent (or abandoned)."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="notifier-export-")
    os.close(handle)
    try:
        write_xlsx(query, path, mask, title)
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def chunks(fmt, query, mask=None, title=None):
    if fmt == "csv":
        return (chunk.encode("utf-8") for chunk in csv_chunks(query, mask))
    return xlsx_chunks(query, mask, title)


def record_export(what, fmt, actor, target=None, **detail):
    """Exports hand out personal data: each one is an audit event (committed at once, before the
    file is produced, so an abandoned download is still on record)."""
    from notifier.audit.service import record

    record(f"export.{what}", target, actor=actor, format=fmt, **detail)
    db.session.commit()


def filename(stem, fmt):
    return f"{stem}.{fmt}"


__all__ = ["FORMATS", "MIMETYPES", "chunks", "csv_chunks", "write_xlsx", "notice_query", "log_query", "filename"]
