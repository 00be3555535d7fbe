"""`notifier roster import FILE [--dry-run]`, `export FILE`, `template FILE` through click."""
from flask_babel import force_locale

from notifier.extensions import db
from notifier.roster.models import Deputy
from tests.roster.files import csv_bytes


def run(app, *args, english=True):
    """Invoke `notifier roster ...`; in English unless told otherwise (the default is Chinese)."""
    runner = app.test_cli_runner()
    if not english:
        return runner.invoke(args=["roster", *args])
    with app.app_context(), force_locale("en"):  # the command reuses this context
        return runner.invoke(args=["roster", *args])


def deputies(app):
    with app.app_context():
        return sorted(d.name for d in db.session.scalars(db.select(Deputy)))


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_import_prints_counts_and_every_error(app, tmp_path):
    path = write(tmp_path, "名单.csv", csv_bytes(
        [["序号", "姓名", "手机号码", "代表层级"],
         ["1", "张三", "13800138000", "县级"],
         ["2", "李四", "010-12345678", "县级"],
         ["3", "王五", "13900139000", "镇级"]], encoding="gb18030"))
    result = run(app, "import", path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert "rows: 3, created: 1, updated: 0, unchanged: 0, errors: 2" in result.output
    assert "Ignored columns: 序号" in result.output
    assert "row 3, column 手机号码: " in result.output and "landline" in result.output
    assert "row 4, column 代表层级: " in result.output and "镇级" in result.output
    assert deputies(app) == []  # dry run

    result = run(app, "import", path)
    assert result.exit_code == 0, result.output
    assert "created: 1" in result.output
    assert deputies(app) == ["张三"]

    result = run(app, "import", path)
    assert "created: 0, updated: 0, unchanged: 1, errors: 2" in result.output


def test_import_unreadable_file_exits_1(app, tmp_path):
    result = run(app, "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "missing.csv" in result.output
    result = run(app, "import", write(tmp_path, "bad.xlsx", b"not a workbook"))
    assert result.exit_code == 1 and "Excel file could not be read" in result.output
    # in the default language, as an operator runs it (no request, no forced locale)
    result = run(app, "import", write(tmp_path, "empty.csv", b""), english=False)
    assert result.exit_code == 1 and "empty.csv" in result.output
    assert deputies(app) == []


def test_export_and_template_by_extension(app, tmp_path):
    path = write(tmp_path, "in.csv", csv_bytes([["姓名", "手机号码"], ["张三", "+8613800138000"]]))
    assert run(app, "import", path).exit_code == 0
    for extension in ("csv", "xlsx"):
        target = str(tmp_path / f"out.{extension}")
        result = run(app, "export", target)
        assert result.exit_code == 0, result.output
        result = run(app, "import", target)
        assert result.exit_code == 0
        assert "created: 0, updated: 0, unchanged: 1, errors: 0" in result.output
    assert run(app, "export", str(tmp_path / "out.pdf")).exit_code == 1

    target = str(tmp_path / "template.xlsx")
    assert run(app, "template", target, english=False).exit_code == 0
    result = run(app, "import", target, "--dry-run")
    assert result.exit_code == 0 and "errors: 0" in result.output
