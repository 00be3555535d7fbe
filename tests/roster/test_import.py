"""Import previews on messy files, applying them, re-importing, whole-file errors."""
import re

import pytest
from flask_babel import force_locale

from notifier.audit.models import AuditEvent
from notifier.extensions import db
from notifier.roster.importer import RosterFileError, apply_import, preview_import
from notifier.roster.models import Deputy
from notifier.roster.service import create_deputy, set_opted_out
from tests.roster.files import BROKEN_FILES, SMALL_ROSTER, csv_bytes, padded_xlsx, xlsx_bytes

HEADER = ["序号", "姓名", "性别", "手机号码", "代表层级", "选区/代表团", "工作单位", "职务", "标签", "备注"]
MESSY = [
    HEADER,  # row 1
    ["1", "张三", "男", "138 0013 8000", "全国人大代表、县级", "第一选区", "城关镇人民政府", "镇长", "乡镇，连任", ""],  # 2
    ["2", "李四", "女", "+86-139-0013-9000", "省级", "", "县医院", "", "", "新任"],  # 3
    ["", "", "", "", "", "", "", "", "", ""],  # 4: blank, skipped and not counted
    ["3", "王五", "男", "010-12345678", "县", "", "", "", "", ""],  # 5: landline
    ["4", "赵六", "男", "0086 13800138000", "县", "", "", "", "", ""],  # 6: duplicate of row 2
    ["5", "", "女", "13700137000", "县", "", "", "", "", ""],  # 7: missing name
    ["6", "孙七", "男", "", "县", "", "", "", "", ""],  # 8: missing number
    ["7", "周八", "男", "13600136000", "乡级", "", "", "", "", ""],  # 9: unknown level
    ["8", "吴九", "男", "1.38E+10", "县", "", "", "", "", ""],  # 10: shortened by Excel
    ["9", "郑十", "男", "1.35001350001E+10", "市级代表", "", "", "", "", ""],  # 11: scientific, intact
    ["10", "冯一", "男", "13300133000", "县", "", "x" * 256, "", "", ""],  # 12: organisation too long
]


def count(model=Deputy):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def by_row(preview):
    result = {}
    for issue in preview.errors:
        result.setdefault(issue.row, []).append(issue)
    return result


def check_messy(preview):
    assert preview.total == 10  # 11 rows after the header, one of them blank
    assert (preview.created, preview.updated, preview.unchanged) == (3, 0, 0)
    assert [r.name for r in preview.rows] == ["张三", "李四", "郑十"]
    assert preview.ignored_columns == ["序号", "性别", "备注"]
    assert preview.columns["phone"] == "手机号码" and preview.columns["name"] == "姓名"
    errors = by_row(preview)
    assert sorted(errors) == [5, 6, 7, 8, 9, 10, 12]
    assert all(len(issues) == 1 for issues in errors.values())
    expect = {
        5: ("手机号码", "landline"),
        6: ("手机号码", "row 2"),
        7: ("姓名", "name is missing"),
        8: ("手机号码", "missing"),
        9: ("代表层级", "乡级"),
        10: ("手机号码", "Excel shortened"),
        12: ("工作单位", "At most 255"),
    }
    for row, (column, fragment) in expect.items():
        issue = errors[row][0]
        assert issue.column == column, (row, issue)
        assert fragment in issue.message, (row, issue.message)
    zhang, li, zheng = preview.rows
    assert zhang.row == 2 and zhang.phone == "+8613800138000"
    assert zhang.fields["levels"] == ["national", "county"] and zhang.fields["tags"] == ["乡镇", "连任"]
    assert li.fields["tags"] == [] and li.fields["levels"] == ["provincial"]
    assert zheng.row == 11 and zheng.phone == "+8613500135000" and zheng.fields["levels"] == ["municipal"]
    data = preview.to_dict()
    assert data["errors"][0] == {"row": 5, "column": "手机号码", "message": errors[5][0].message}
    assert set(data) == {"created", "updated", "unchanged", "errors", "total", "ignored_columns"}


@pytest.mark.parametrize(
    ("encoding", "filename"),
    [("utf-8", "roster.csv"), ("utf-8-sig", "roster.csv"), ("gb18030", "花名册.csv"), ("utf-16", "roster.txt")],
)
def test_messy_csv_preview(ctx, encoding, filename):
    delimiter = "\t" if encoding == "utf-16" else ","  # Excel's "Unicode text" is tab-separated
    data = csv_bytes(MESSY, encoding=encoding, delimiter=delimiter)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really not UTF-8
    with force_locale("en"):
        preview = preview_import(data, filename)
    check_messy(preview)
    assert count() == 0 and count(AuditEvent) == 0  # a preview never writes


def test_messy_xlsx_preview_with_number_cells(ctx):
    rows = [list(row) for row in MESSY]
    rows[1][3] = 13800138000.0  # a number cell, as Excel stores an unformatted phone column
    rows[2][3] = 13900139000  # an int cell
    rows[10][3] = 13500135000.0
    rows[3] = [None] * len(HEADER)
    with force_locale("en"):
        preview = preview_import(xlsx_bytes(rows, extra_sheets=["说明"]), "名单.xlsx")
    check_messy(preview)
    assert count() == 0


def test_headers_are_recognised_loosely(ctx):
    rows = [
        ["某县第十七届人大代表名单"],  # a title row above the header (row 1)
        [],  # row 2
        [" 姓 名： ", "ＰＨＯＮＥ", "Level:", "代表团", "工作单位及职务", "分组", "状态", "性别"],  # row 3
        ["张三", 13800138000, "county", "第一代表团", "县政府 县长", "连任", "停用", "男"],  # row 4
        ["李四", "13900139000", "National", "", "", "", "", ""],  # row 5
    ]
    with force_locale("en"):
        preview = preview_import(xlsx_bytes(rows), "x.xlsx")
    assert preview.errors == []
    assert preview.columns == {
        "name": "姓 名：",
        "phone": "ＰＨＯＮＥ",
        "levels": "Level:",
        "constituency": "代表团",
        "organisation": "工作单位及职务",
        "tags": "分组",
        "active": "状态",
    }
    assert preview.ignored_columns == ["性别"]
    zhang, li = preview.rows
    assert zhang.row == 4 and zhang.fields["active"] is False and zhang.fields["constituency"] == "第一代表团"
    assert li.row == 5 and "active" not in li.fields  # a blank status is left alone


@pytest.mark.parametrize(
    "header",
    [
        ["name", "mobile"],
        ["Name", "Phone"],
        ["姓名", "手机"],
        ["姓名", "手机号"],
        ["姓名*", "联系电话（必填）"],
        ["姓名", "电话"],
        ["ＮＡＭＥ", "手机号码："],
    ],
)
def test_header_synonyms(ctx, header):
    preview = preview_import(csv_bytes([header, ["张三", "13800138000"]]), "a.csv")
    assert preview.created == 1 and preview.errors == []


def test_several_errors_in_one_row_are_all_listed(ctx):
    data = csv_bytes([["姓名", "手机号码", "代表层级", "职务"], ["", "010-12345678", "镇级", "x" * 200]])
    with force_locale("en"):
        preview = preview_import(data, "a.csv")
    assert sorted(issue.column for issue in preview.errors) == ["代表层级", "姓名", "手机号码", "职务"]
    assert {issue.row for issue in preview.errors} == {2}
    assert preview.rows == [] and preview.total == 1


@pytest.mark.parametrize(
    ("data", "filename", "fragment"),
    [
        (b"", "a.csv", "empty"),
        (b"\r\n\r\n,,\r\n", "a.csv", "no rows"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "Excel file could not be read"),
        (b"just text", "a.xlsx", "Excel file could not be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.xls", ".xls"),
        (b"%PDF-1.4", "a.pdf", "CSV or XLSX"),
        (b"\x00\x01\x02binary", "a.csv", "not a CSV"),
        ("名字,电话号\n张三,13800138000\n".encode(), "a.csv", "No name and phone columns"),
        ("姓名,工作单位\n张三,县政府\n".encode(), "a.csv", "found: 姓名、工作单位"),
        ("姓名,手机号码\n".encode(), "a.csv", "no deputies"),
    ],
)
def test_whole_file_errors(ctx, data, filename, fragment):
    with force_locale("en"), pytest.raises(RosterFileError) as caught:
        preview_import(data, filename)
    assert fragment in str(caught.value)


def test_row_limit(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 3)
    rows = [["姓名", "手机号码"]] + [[f"代表{i}", f"1380013800{i}"] for i in range(3)]
    assert preview_import(csv_bytes(rows + [[], []]), "a.csv").total == 3  # blank lines do not count
    with force_locale("en"), pytest.raises(RosterFileError) as caught:
        preview_import(csv_bytes(rows + [["多一个", "13800138009"]]), "a.csv")
    assert "more than 3 rows" in str(caught.value)


def test_apply_then_reimport_changes_nothing(ctx):
    data = csv_bytes(MESSY, encoding="gb18030")
    result = apply_import(data, "花名册.csv", actor="test")
    assert (result.created, result.updated, result.unchanged, len(result.errors)) == (3, 0, 0, 7)
    db.session.expire_all()
    zhang = db.session.scalars(db.select(Deputy).where(Deputy.phone == "+8613800138000")).one()
    assert zhang.name == "张三" and zhang.level_codes == ["national", "county"]
    assert zhang.tag_names == ["乡镇", "连任"] and zhang.organisation == "城关镇人民政府" and zhang.active
    assert count() == 3  # rows with errors were not applied
    [event] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "roster.import")).all()
    assert event.actor == "test"
    assert event.detail == {"filename": "花名册.csv", "created": 3, "updated": 0, "unchanged": 0,
                            "errors": 7, "total": 10}
    stamps = {d.id: d.updated_at for d in db.session.scalars(db.select(Deputy))}

    again = apply_import(data, "花名册.csv", actor="test")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert {r.action for r in again.rows} == {"unchanged"}
    db.session.expire_all()
    assert {d.id: d.updated_at for d in db.session.scalars(db.select(Deputy))} == stamps
    assert count() == 3


def test_partial_update_via_reimport(ctx):
    create_deputy({"name": "张三", "phone": "13800138000", "levels": "县级", "tags": "乡镇",
                   "organisation": "城关镇", "title": "镇长"})
    li = create_deputy({"name": "李四", "phone": "13900139000", "levels": "省级", "tags": "连任"})
    set_opted_out(li, True, "sms:退订")
    # Only name, number and title: levels, tags and organisation stay as they are.
    data = csv_bytes([["姓名", "手机号码", "职务"],
                      ["张三", "13800138000", "党委书记"],
                      ["李四", "139 0013 9000", ""],
                      ["王五", "13700137000", "主任"]])
    preview = preview_import(data, "a.csv")
    assert (preview.created, preview.updated, preview.unchanged) == (1, 1, 1)
    assert [(r.name, r.action, r.changed) for r in preview.rows] == [
        ("张三", "update", ["title"]), ("李四", "unchanged", []), ("王五", "create", [])]
    assert preview.rows[0].deputy_id is not None
    apply_import(data, "a.csv")
    db.session.expire_all()
    zhang = db.session.scalars(db.select(Deputy).where(Deputy.name == "张三")).one()
    assert zhang.title == "党委书记" and zhang.level_codes == ["county"]
    assert zhang.tag_names == ["乡镇"] and zhang.organisation == "城关镇"
    li = db.session.scalars(db.select(Deputy).where(Deputy.name == "李四")).one()
    assert li.opted_out  # an import never opts anybody back in
    wang = db.session.scalars(db.select(Deputy).where(Deputy.name == "王五")).one()
    assert wang.level_codes == [] and wang.active and not wang.opted_out

    # A levels/tags column present but blank is authoritative: it clears them.
    apply_import(csv_bytes([["姓名", "手机号码", "代表层级", "标签", "状态"],
                            ["张三", "13800138000", "", "", "停用"]]), "b.csv")
    db.session.expire_all()
    zhang = db.session.get(Deputy, zhang.id)
    assert zhang.level_codes == [] and zhang.tag_names == [] and zhang.active is False
    assert zhang.title == "党委书记"


def test_apply_with_only_errors_writes_no_deputy_but_audits(ctx):
    data = csv_bytes([["姓名", "手机号码"], ["张三", "010-12345678"]])
    result = apply_import(data, "a.csv")
    assert result.created == 0 and len(result.errors) == 1 and result.applied
    assert count() == 0
    assert count(AuditEvent) == 1


def test_bad_file_on_apply_writes_nothing(ctx):
    with pytest.raises(RosterFileError):
        apply_import(b"garbage", "a.xlsx")
    assert count() == 0 and count(AuditEvent) == 0


def test_a_large_import_refreshes_the_planner_statistics(ctx):
    """Right after thousands of new deputies the planner would still see the old, small roster."""
    from sqlalchemy import text

    from notifier.roster.importer import ANALYZE_AFTER

    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's")
    analyzed = text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'deputies'")
    before = db.session.scalar(analyzed)
    rows = [["姓名", "手机号码", "层级"]] + [[f"代表{i}", f"1380{i:07d}", "县"] for i in range(ANALYZE_AFTER)]
    assert apply_import(csv_bytes(rows), "large.csv").created == ANALYZE_AFTER
    db.session.commit()
    assert db.session.scalar(analyzed) > before
    assert apply_import(csv_bytes(rows[:10]), "small.csv").created == 0  # nothing new: no ANALYZE needed


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_broken_files_get_a_clear_error_in_the_users_language(ctx, name):
    data, filename = BROKEN_FILES[name]
    for locale, script in (("en", re.compile(r"[A-Za-z]{4}")), ("zh_Hans_CN", re.compile(r"[\u4e00-\u9fff]{4}"))):
        with force_locale(locale), pytest.raises(RosterFileError) as caught:
            preview_import(data, filename)
        assert script.search(str(caught.value)), (locale, str(caught.value))
    with pytest.raises(RosterFileError):
        apply_import(data, filename, actor="cli")
    assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 0


def test_an_xlsx_may_not_unpack_to_more_than_the_limit(app, ctx, monkeypatch):
    data = padded_xlsx(SMALL_ROSTER, 300 * 1024)
    assert len(data) < 20 * 1024  # small to upload ...
    assert preview_import(data, "名单.xlsx").total == 1  # ... a valid workbook ...
    monkeypatch.setitem(app.config, "ROSTER_MAX_UNPACKED_BYTES", 256 * 1024)
    with force_locale("en"), pytest.raises(RosterFileError) as caught:  # ... that unpacks to too much
        preview_import(data, "名单.xlsx")
    assert "unpacks to more than" in str(caught.value)
