"""The roster is ordered by the pinyin of the names, however a deputy got onto it."""
from sqlalchemy import insert

from notifier.extensions import db
from notifier.roster.exporter import export_roster
from notifier.roster.importer import apply_import
from notifier.roster.models import Deputy
from notifier.roster.pinyin import name_sort_key
from notifier.roster.service import create_deputy, deputy_query, update_deputy

# In Unicode order these would read 张 王 李 赵 阿; by pinyin: a li wang zhang zhao.
EXPECTED = ["阿明", "李四", "王五", "张三", "赵六"]


def test_key_orders_by_pinyin_and_tone():
    assert sorted(["马丽", "妈妈", "张三", "阿明"], key=name_sort_key) == ["阿明", "妈妈", "马丽", "张三"]
    assert name_sort_key("张三").startswith("zhang1 san1")


def test_form_import_and_bulk_rows_all_sort_by_pinyin(app):
    with app.app_context():
        create_deputy({"name": "张三", "phone": "13800138001"})
        db.session.execute(insert(Deputy), [{"name": "王五", "phone": "+8613800138002"}])
        db.session.commit()
        apply_import("姓名,手机号码\n赵六,13800138003\n阿明,13800138004\n".encode(), "r.csv")
        lee = create_deputy({"name": "某某", "phone": "13800138005"})
        update_deputy(lee, {"name": "李四"})  # a renamed deputy moves to its new place

        names = [d.name for d in db.session.scalars(deputy_query())]
        assert names == EXPECTED
        csv_text = export_roster("csv")[0].decode("utf-8-sig")
        assert [line.split(",")[0] for line in csv_text.splitlines()[1:]] == EXPECTED
