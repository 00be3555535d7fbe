"""Build the messy roster files the tests import (CSV in several encodings, XLSX with numbers)."""
import csv
import io
import zipfile

import openpyxl


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, extra_sheets=()):
    """Cells keep their Python type: a float phone stays a number cell, as Excel stores it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "名单"
    for row in rows:
        sheet.append(list(row))
    for title in extra_sheets:
        workbook.create_sheet(title).append(["姓名", "手机号码"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_xlsx(data):
    """All cells of the first sheet as (value, data_type) without evaluating anything."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    return [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()]


def read_csv(data):
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rewritten(rows, change):
    """An .xlsx of `rows` with its parts passed through change(name, bytes) -> bytes, or None to
    leave the part out: broken XML, a missing sheet, a padded sheet..."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
    return buffer.getvalue()


def _sheet(change):
    return lambda name, data: change(data) if name == "xl/worksheets/sheet1.xml" else data


SMALL_ROSTER = [["姓名", "手机号码"], ["张伟", "13800138000"]]
# Files that once crashed the import (a 500) instead of getting a clear error.
BROKEN_FILES = {
    "utf16-odd-length": (b"\xff\xfe" + "姓名,手机号码\n张伟,13800138000\n".encode("utf-16-le") + b"\x0a", "名单.csv"),
    "utf16-be-odd-length": (b"\xfe\xff" + "姓名,手机号码\n".encode("utf-16-be") + b"\x00", "名单.txt"),
    "xlsx-broken-sheet-xml": (xlsx_rewritten(SMALL_ROSTER, _sheet(lambda d: d[: len(d) // 2])), "名单.xlsx"),
    "xlsx-broken-workbook-xml": (xlsx_rewritten(SMALL_ROSTER, lambda n, d: b"<workbook" if n == "xl/workbook.xml" else d),
                                 "名单.xlsx"),
    "xlsx-without-sheets": (xlsx_rewritten(SMALL_ROSTER, lambda n, d: None if n.startswith("xl/worksheets/") else d),
                            "名单.xlsx"),
    "xlsx-with-entities": (xlsx_rewritten(SMALL_ROSTER, _sheet(lambda d: b'<?xml version="1.0"?><!DOCTYPE w ['
                                                                 b'<!ENTITY a "aaaaaaaaaa">]>' + d.replace(b"\xe5\xbc\xa0", b"&a;")))
                           , "名单.xlsx"),
    "empty": (b"", "名单.xlsx"),
}


def padded_xlsx(rows, padding):
    """A valid .xlsx whose sheet holds `padding` bytes of whitespace: tiny zipped, large unpacked."""
    return xlsx_rewritten(rows, _sheet(lambda d: d.replace(b"<sheetData>", b"<sheetData>" + b" " * padding)))
