"""Exports: 100,000 rows with bounded memory (measured with tracemalloc), and formula injection."""
import csv
import io
import time
import tracemalloc

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from notifier.extensions import db
from notifier.reports import export
from notifier.reports.log import LogFilter, log_query
from tests.reports.bigseed import seed_million
from tests.reports.conftest import add_deputy, add_message, add_notice

ROWS = 100_000


def _measure(produce):
    tracemalloc.start()
    started = time.perf_counter()
    size = produce()
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size, elapsed, peak


@pytest.mark.slow
@pytest.mark.postgres
def test_export_100k_rows_in_bounded_memory(ctx, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL")
    with db.engine.begin() as conn:
        seed_million(conn, ROWS, deputies=2_000)
    query = export.notice_query(7)  # 2,000 rows: the per-notice export
    assert sum(len(b) for b in export.batches(query)) == 2_000

    def csv_size():
        return sum(len(chunk) for chunk in export.chunks("csv", log_query(LogFilter())))

    size, elapsed, peak = _measure(csv_size)  # the whole log: exactly ROWS rows
    print(f"\nCSV  {ROWS:,} rows: {size / 1e6:.1f} MB in {elapsed:.1f} s, peak Python memory {peak / 1e6:.1f} MB")
    assert size > ROWS * 50 and peak < 40e6

    # XLSX through the same batches (openpyxl write_only); a fifth of the rows keeps the traced run
    # short, bench/log_bench.py times the full 100,000.
    path = tmp_path / "log.xlsx"
    count, elapsed, peak = _measure(lambda: export.write_xlsx(log_query(LogFilter(until=_until(ROWS // 5))),
                                                              str(path)))
    print(f"XLSX {count:,} rows: {path.stat().st_size / 1e6:.1f} MB in {elapsed:.1f} s, peak Python memory "
          f"{peak / 1e6:.1f} MB")
    assert count == ROWS // 5 and peak < 40e6
    book = load_workbook(path, read_only=True)  # write_only files carry no dimensions: count the rows
    assert sum(1 for _row in book.active.iter_rows(values_only=True)) == ROWS // 5 + 1
    db.session.execute(text("SELECT 1"))


def _until(n):
    """The creation time just after message id n (ids are created in order)."""
    from notifier.delivery.models import Message

    return db.session.scalar(db.select(Message.created_at).where(Message.id == n + 1))


HOSTILE = ["=HYPERLINK(\"http://evil\",\"点我\")", "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def test_formula_injection_is_neutralised_in_csv_and_xlsx(ctx, tmp_path):
    notice = add_notice(title=HOSTILE[0])
    for i, evil in enumerate(HOSTILE):
        deputy = add_deputy(evil, f"+8613500000{i:03d}")
        add_message(notice, deputy, "failed", error_code="=1+1", error_message=evil)
    db.session.commit()
    data = b"".join(export.chunks("csv", export.notice_query(notice.id))).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))[1:]
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", row
    assert {r[3] for r in rows} == {"'" + evil for evil in HOSTILE}
    path = tmp_path / "n.xlsx"
    export.write_xlsx(export.notice_query(notice.id), str(path))
    sheet = load_workbook(path).active
    for row in sheet.iter_rows(min_row=2, values_only=True):
        for i, cell in enumerate(row):
            if i == 5:  # the number, text-typed and in E.164: no apostrophe showing (issue 16)
                assert cell.startswith("+86") and cell[1:].isdigit(), row
                continue
            assert not isinstance(cell, str) or not cell or cell[0] not in "=+-@\t\r", row
        assert row[3].startswith("'") and row[14] == "'=1+1"
    assert all(sheet.cell(r, 4).data_type != "f" for r in range(2, sheet.max_row + 1))
