"""Export (XLSX, CSV) round trips through the importer; formula injection; the template."""
import pytest

from notifier.extensions import db
from notifier.roster.exporter import (
    E164,
    EXAMPLE_ROW,
    EXPORT_HEADERS,
    escape_cell,
    export_roster,
    roster_template,
    unescape_cell,
)
from notifier.roster.importer import apply_import, preview_import
from notifier.roster.models import Deputy
from notifier.roster.service import create_deputy, deputy_query, deputy_to_dict
from tests.roster.files import read_csv, read_xlsx

HOSTILE = [
    "=HYPERLINK(\"http://evil\",\"x\")",
    "+SUM(1,2)",
    "-1+2",
    "@cmd",
    "\tTAB",
    "\rCR",
    "'=already quoted",
    "''+twice",
    "'plain apostrophe",
]


def seed():
    create_deputy({"name": "张三", "phone": "13800138000", "levels": "全国、县级", "tags": "乡镇,连任",
                   "constituency": "第一选区", "organisation": "城关镇人民政府", "title": "镇长"})
    create_deputy({"name": "Smith", "phone": "+1 415 555 2671", "levels": "county", "active": False})
    for index, text in enumerate(HOSTILE):
        create_deputy({"name": f"代表{index}", "phone": f"1390013900{index}", "organisation": text,
                       "title": text[:20], "constituency": text, "tags": [text.strip() or "x"]})


def snapshot():
    return sorted(
        ({k: v for k, v in deputy_to_dict(d).items() if k not in ("created_at", "updated_at")}
         for d in db.session.scalars(db.select(Deputy))),
        key=lambda d: d["phone"],
    )


def assert_no_formula_cells(rows):
    for row in rows:
        for value in row:
            if isinstance(value, str):
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_round_trips_unchanged(ctx, fmt):
    seed()
    before = snapshot()
    data, mimetype, filename = export_roster(fmt)
    assert filename.endswith("." + fmt) and mimetype
    preview = preview_import(data, filename)
    assert preview.errors == []
    assert (preview.created, preview.updated, preview.unchanged) == (0, 0, len(before))
    assert preview.ignored_columns == []
    result = apply_import(data, filename)
    assert result.unchanged == len(before)
    db.session.expire_all()
    assert snapshot() == before

    # and into an empty roster: the same deputies come back
    db.session.execute(db.delete(Deputy))
    db.session.commit()
    result = apply_import(data, filename)
    assert result.created == len(before)
    db.session.expire_all()
    assert [{k: v for k, v in d.items() if k != "id"} for d in snapshot()] == [
        {k: v for k, v in d.items() if k != "id"} for d in before]


def test_xlsx_cells_are_text_and_neutralised(ctx):
    seed()
    data, mimetype, _ = export_roster("xlsx")
    assert mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = read_xlsx(data)
    assert [value for value, _type in rows[0]] == list(EXPORT_HEADERS)
    for row in rows[1:]:
        for value, data_type in row:
            assert value is None or data_type == "s", (value, data_type)  # never a formula ("f") nor a number ("n")
    values = [[value for value, _type in row] for row in rows]
    # A phone number in E.164 is text-typed and can never run as a formula: it is written as it
    # is, without an apostrophe showing in the cell (issue 16); everything else is neutralised.
    assert_no_formula_cells([[v for v in row if not (isinstance(v, str) and E164.fullmatch(v))] for row in values])
    phones = {row[0]: row[1] for row in values[1:]}
    assert phones["张三"] == "13800138000"  # national form: not formula-like, not a number
    assert phones["Smith"] == "+14155552671"
    organisations = {row[0]: row[4] for row in values[1:]}
    assert organisations["代表0"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert organisations["代表6"] == "''=already quoted"
    assert organisations["代表8"] == "'plain apostrophe"  # harmless: left alone
    zhang = next(row for row in values if row[0] == "张三")
    assert zhang[2] == "全国、县级" and zhang[6] == "乡镇、连任" and zhang[7] == "启用"


def test_csv_has_bom_and_neutralised_cells(ctx):
    seed()
    data, mimetype, _ = export_roster("csv")
    assert mimetype.startswith("text/csv")
    rows = read_csv(data)
    assert rows[0] == list(EXPORT_HEADERS)
    assert_no_formula_cells(rows)
    assert {row[0]: row[1] for row in rows[1:]}["Smith"] == "'+14155552671"
    assert len(rows) == 1 + 2 + len(HOSTILE)


def test_export_of_a_query(ctx):
    seed()
    data, _, filename = export_roster("csv", query=deputy_query(levels="county", active=True))
    assert [row[0] for row in read_csv(data)[1:]] == ["张三"]


def test_export_unknown_format(ctx):
    with pytest.raises(ValueError):
        export_roster("pdf")


@pytest.mark.parametrize("text", HOSTILE + ["", "普通", "a=b", "'", "''", "'=", "=", "+86"])
def test_escape_is_undone_exactly(text):
    escaped = escape_cell(text)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescape_cell(escaped) == text


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_imports_clean(ctx, fmt):
    data, _, filename = roster_template(fmt)
    assert filename == f"deputies-template.{fmt}"
    preview = preview_import(data, filename)
    assert preview.errors == [] and preview.ignored_columns == []
    assert (preview.total, preview.created) == (1, 1)
    row = preview.rows[0]
    assert row.name == EXAMPLE_ROW[0] and row.phone == "+8613800138000"
    assert row.fields["levels"] == ["municipal", "county"] and row.fields["active"] is True
    assert set(preview.columns) == {"name", "phone", "levels", "constituency", "organisation", "title",
                                    "tags", "active", "groups", "stations"}
    if fmt == "xlsx":
        assert [v for v, _t in read_xlsx(data)[0]] == list(EXPORT_HEADERS)
    else:
        assert read_csv(data)[0] == list(EXPORT_HEADERS)
