"""Groups (代表小组, 代表团, 联络站): the roster columns both ways, audiences by group, the pages
and GET /api/v1/groups."""
import re

from flask_babel import force_locale

from notifier.extensions import db
from notifier.notices.audience import AudienceError, clean_spec, resolve
from notifier.roster.exporter import export_roster
from notifier.roster.importer import apply_import, preview_import
from notifier.roster.models import Deputy, DeputyGroup
from tests.duty.conftest import group_roster
from tests.roster.files import csv_bytes, read_xlsx


def _groups():
    return {g.name: g for g in db.session.scalars(db.select(DeputyGroup))}


def test_kinds_follow_the_column_and_the_name(ctx):
    group_roster()
    groups = _groups()
    assert {name: g.kind for name, g in groups.items()} == {
        "城关代表小组": "group", "东山代表团": "delegation", "城关联络站": "station"}


def test_import_reads_both_columns_and_reimport_changes_nothing(ctx):
    rows = [["姓名", "手机号码", "代表层级", "代表小组", "联络站"],
            ["张三", "13800138000", "县级", "城关代表小组、东山代表团", "城关镇人大代表联络站"],
            ["李四", "13900139000", "县级", "城关代表小组", ""]]
    preview = preview_import(csv_bytes(rows), "r.csv")
    assert preview.errors == [] and preview.ignored_columns == []
    assert preview.columns["groups"] == "代表小组" and preview.columns["stations"] == "联络站"
    apply_import(csv_bytes(rows), "r.csv")
    zhang = db.session.scalar(db.select(Deputy).where(Deputy.name == "张三"))
    assert sorted(zhang.group_names) == ["东山代表团", "城关代表小组"] and zhang.station_names == ["城关镇人大代表联络站"]
    assert _groups()["东山代表团"].kind == "delegation"
    again = preview_import(csv_bytes(rows), "r.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    # A station column of its own leaves the group memberships alone, and the other way round.
    moved = [["姓名", "手机号码", "联络站"], ["张三", "13800138000", "东关联络站"]]
    apply_import(csv_bytes(moved), "m.csv")
    db.session.expire_all()
    zhang = db.session.get(Deputy, zhang.id)
    assert sorted(zhang.group_names) == ["东山代表团", "城关代表小组"] and zhang.station_names == ["东关联络站"]


def test_export_has_the_columns_and_reads_back(ctx):
    group_roster()
    data, _mime, name = export_roster("xlsx")
    rows = [[v for v, _t in row] for row in read_xlsx(data)]
    assert rows[0][-2:] == ["代表小组", "联络站"]
    zhang = next(row for row in rows if row[0] == "张三")
    assert zhang[-2:] == ["城关代表小组", "城关联络站"]
    preview = preview_import(data, name)
    assert preview.errors == [] and preview.unchanged == 4


def test_audience_by_group(ctx):
    ids = group_roster()
    groups = _groups()
    spec = clean_spec({"groups": [groups["城关代表小组"].id, groups["城关联络站"].id]})
    assert [r.id for r in resolve(spec).rows] == sorted([ids["张三"], ids["李四"]])
    both = clean_spec({"groups": [groups["东山代表团"].id], "deputy_ids": [ids["赵六"]]})
    assert {r.name for r in resolve(both).rows} == {"王五", "赵六"}
    assert "groups" not in clean_spec({"levels": ["county"]})  # older specs keep their shape
    for bad, fragment in (([999], "999"), (["x"], "whole numbers"), ([True], "whole numbers")):
        try:
            with force_locale("en"):
                clean_spec({"groups": bad})
        except AudienceError as exc:
            assert fragment in exc.errors["groups"][0]
        else:
            raise AssertionError(bad)


def test_groups_api(app, api_as):
    with app.app_context():
        ids = group_roster()
        db.session.get(Deputy, ids["李四"]).active = False
        db.session.commit()
    api = api_as("viewer")
    body = api.get("/api/v1/groups").get_json()
    assert [(g["name"], g["kind"], g["members"]) for g in body["items"]] == [
        ("城关代表小组", "group", 1), ("东山代表团", "delegation", 1), ("城关联络站", "station", 1)]
    assert body["next_cursor"] is None
    stations = api.get("/api/v1/groups?kind=station").get_json()["items"]
    assert [g["name"] for g in stations] == ["城关联络站"]
    bad = api.get("/api/v1/groups?kind=club")
    assert bad.status_code == 422 and "kind" in bad.get_json()["errors"]["query"]
    assert api.client.get("/api/v1/groups").status_code == 401
    deputy = api.get(f"/api/v1/deputies/{ids['张三']}").get_json()
    assert deputy["groups"] == ["城关代表小组"] and deputy["stations"] == ["城关联络站"]


def test_notice_to_a_group_through_the_api(app, api_as):
    with app.app_context():
        ids = group_roster()
        group_id = _groups()["城关代表小组"].id
    api = api_as("composer")
    created = api.post("/api/v1/notices", json={"title": "小组活动", "body": "请参加小组活动。", "category": "activity",
                                                "audience": {"groups": [group_id]}})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["audience"]["groups"] == [group_id]
    bad = api.post("/api/v1/notices", json={"title": "x", "body": "x", "audience": {"groups": [12345]}})
    assert bad.status_code == 422 and "groups" in bad.get_json()["errors"]["json"]["audience"]
    assert ids


def test_group_pages(app, as_role):
    with app.app_context():
        group_roster()
        group = _groups()["城关代表小组"]
        group_id = group.id
    client, _ = as_role("viewer")
    listing = client.get("/groups/").get_data(as_text=True)
    assert "城关代表小组" in listing and "东山代表团" in listing and f'href="/groups/{group_id}"' in listing
    page = client.get(f"/groups/{group_id}").get_data(as_text=True)
    assert "张三" in page and "李四" in page and "王五" not in page
    assert "compose-to-group" not in page  # a viewer does not compose
    assert client.get("/groups/99999").status_code == 404
    composer, _ = as_role("composer")
    assert "compose-to-group" in composer.get(f"/groups/{group_id}").get_data(as_text=True)
    compose = composer.get(f"/notices/new?group={group_id}").get_data(as_text=True)
    assert re.search(rf'<input checked[^>]*name="groups"[^>]*value="{group_id}"', compose)


def test_demo_roster_has_groups(ctx):
    import random

    from notifier.demo_data import _seed_deputies

    _seed_deputies(30, random.Random(2026))
    db.session.commit()
    groups = _groups()
    assert {g.kind for g in groups.values()} == {"group", "station", "delegation"}
    for deputy in db.session.scalars(db.select(Deputy)):
        town = deputy.constituency.removesuffix("选区")
        assert town + "代表小组" in deputy.group_names and deputy.station_names == [town + "人大代表联络站"]
