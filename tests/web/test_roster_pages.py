"""The deputy list (search, filters), create/edit through the roster service, opt-out, export."""
import re

import pytest
from flask_babel import force_locale
from markupsafe import escape

from tests.conftest import csrf_token
from tests.web.conftest import audit_actions, form_post


def names_listed(client, query=""):
    html = client.get(f"/deputies/?{query}").get_data(as_text=True)
    assert "<table" in html
    return set(re.findall(r'<td class="col-name">\s*([^<\s][^<]*?)\s*</td>', html))


@pytest.fixture
def roster(add_deputy, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy
    from notifier.roster.service import set_opted_out

    add_deputy("张伟", "13800138000", levels="全国,县级", tags="乡镇", organisation="城关镇人民政府")
    add_deputy("李娜", "13900139001", levels="省级", tags="妇女代表, 连任", organisation="县人民医院")
    add_deputy("王芳", "13700137002", levels="市级", organisation="县一中")
    add_deputy("刘洋", "15000150003", levels="县级", tags="乡镇", active=False)
    opted = add_deputy("陈静", "18600186004", organisation="县人民医院")
    with app.app_context():
        set_opted_out(db.session.get(Deputy, opted), True, "sms:退订", actor="system")


def test_list_shows_the_columns(as_role, roster, app):
    from notifier.roster.levels import level_label

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        national, county = level_label("national"), level_label("county")
    assert _has_cjk(national + county), "no Chinese labels for the levels"
    client, _ = as_role("viewer")
    html = client.get("/deputies/").get_data(as_text=True)
    row = html[html.index("张伟"):]
    row = row[: row.index("</tr>")]
    assert "138 0013 8000" in row  # formatted, not raw E.164
    assert "城关镇人民政府" in row and "乡镇" in row
    assert f"{national}、{county}" in row  # level labels, in Chinese by default
    assert names_listed(client) == {"张伟", "李娜", "王芳", "刘洋", "陈静"}
    # Flask-Admin's page-size menu counts rows (条), not "项目" (projects): our catalogue wins.
    assert "50 条/页" in html and "每页 100 条" in html and "项目" not in html
    # The filters are plain controls above the list, not Flask-Admin's add-a-filter menu.
    assert "添加筛选器" not in html and 'id="roster-filters"' in html


def test_the_list_reads_in_pinyin_order(as_role, roster):
    client, _ = as_role("viewer")
    html = client.get("/deputies/").get_data(as_text=True)
    names = re.findall(r'<td class="col-name">\s*([^<\s][^<]*?)\s*</td>', html)
    assert names == ["陈静", "李娜", "刘洋", "王芳", "张伟"]  # chen li liu wang zhang
    html = client.get("/deputies/?sort=0&desc=1").get_data(as_text=True)  # the name column, reversed
    assert re.findall(r'<td class="col-name">\s*([^<\s][^<]*?)\s*</td>', html)[0] == "张伟"


def test_the_plain_filter_controls(as_role, roster, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy, DeputyGroup

    with app.app_context():
        group = DeputyGroup(name="城关代表小组")
        db.session.add(group)
        for deputy in db.session.scalars(db.select(Deputy).where(Deputy.name.in_(["张伟", "王芳"]))):
            deputy.groups.append(group)
        db.session.commit()
        group_id = group.id
    client, _ = as_role("viewer")

    def through_controls(**controls):
        response = client.get("/deputies/filter/", query_string=controls)
        assert response.status_code == 302
        location = response.headers["Location"]
        return location, names_listed(client, location.split("?", 1)[1] if "?" in location else "")

    location, names = through_controls(level="county", tag="", group="", active="")
    assert names == {"张伟", "刘洋"} and "tag" not in location  # "all" adds no filter
    assert through_controls(level="county", active="1")[1] == {"张伟"}
    assert through_controls(level="none")[1] == {"陈静"}
    assert through_controls(tag="乡镇", active="0")[1] == {"刘洋"}
    assert through_controls(group=str(group_id))[1] == {"张伟", "王芳"}
    assert through_controls(group=str(group_id), search="王")[1] == {"王芳"}
    # The controls show what is chosen; the home page's links (flt0_0=...) still work.
    html = client.get(f"/deputies/?flt0_0=county&flt1_3=1&flt2_7={group_id}").get_data(as_text=True)
    assert re.search(r'<option value="county" selected>', html)
    assert re.search(rf'<option value="{group_id}" selected>', html)
    assert re.search(r'<option value="1" selected>', html)


def test_the_actions_menu_reads_naturally(as_role, roster):
    client, _ = as_role("admin")
    html = client.get("/deputies/").get_data(as_text=True)
    assert "批量操作" in html and "选中的" not in html  # Flask-Admin's fragment, corrected


def test_search_by_name_number_and_organisation(as_role, roster):
    client, _ = as_role("viewer")
    assert names_listed(client, "search=张伟") == {"张伟"}
    assert names_listed(client, "search=0013") == {"张伟", "李娜", "王芳"}  # part of the number
    assert names_listed(client, "search=138 0013") == {"张伟"}
    assert names_listed(client, "search=1500015") == {"刘洋"}
    assert names_listed(client, "search=人民医院") == {"李娜", "陈静"}
    assert names_listed(client, "search=nobody") == set()


def test_each_filter(as_role, roster):
    client, _ = as_role("viewer")
    # flt<position>_<filter index>: 0 level, 1 level missing, 2 tag, 3 active, 4 opted out
    assert names_listed(client, "flt0_0=county") == {"张伟", "刘洋"}
    assert names_listed(client, "flt0_0=provincial") == {"李娜"}
    assert names_listed(client, "flt0_1=1") == {"陈静"}
    assert names_listed(client, "flt0_2=乡镇") == {"张伟", "刘洋"}
    assert names_listed(client, "flt0_2=连任") == {"李娜"}
    assert names_listed(client, "flt0_3=0") == {"刘洋"}
    assert names_listed(client, "flt0_3=1") == {"张伟", "李娜", "王芳", "陈静"}
    assert names_listed(client, "flt0_4=1") == {"陈静"}
    assert names_listed(client, "flt0_4=0") == {"张伟", "李娜", "王芳", "刘洋"}
    # combined with each other and with search; a deputy at two levels is listed once
    assert names_listed(client, "flt0_0=county&flt1_3=1") == {"张伟"}
    assert names_listed(client, "flt0_0=national&flt1_0=county") == {"张伟"}
    assert names_listed(client, "search=县&flt0_2=乡镇") == set()
    html = client.get("/deputies/?flt0_0=county").get_data(as_text=True)
    assert "列表 (2)" in html  # the count follows the filter (Flask-Admin's own string, in Chinese)


def test_home_page_counts_and_links(as_role, roster):
    client, _ = as_role("viewer")
    html = client.get("/").get_data(as_text=True)

    def count(row_id):
        return int(re.search(rf'id="{row_id}">.*?(\d+)</(?:a|td)>', html, re.S).group(1))

    # active deputies per level; 刘洋 (county) is inactive
    assert [count(f"level-{c}") for c in ("national", "provincial", "municipal", "county")] == [1, 1, 1, 1]
    assert (count("count-total"), count("count-active"), count("count-inactive"), count("count-opted-out")) == (5, 4, 1, 1)
    assert names_listed(client, "flt0_0=provincial") == {"李娜"}
    assert "/deputies/?flt0_0=provincial" in html


def _deputy_form(**fields):
    data = {"name": "赵敏", "phone": "13600136005", "levels": ["county"], "constituency": "东街",
            "organisation": "县农业局", "title": "科长", "tags": "乡镇，连任", "active": "y"}
    data.update(fields)
    return data


def test_create_goes_through_the_service_and_is_audited(as_role, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    client, user = as_role("composer")
    response = form_post(client, "/deputies/new/", _deputy_form(phone="136-0013-6005", levels=["county", "national"]))
    assert response.status_code == 302
    with app.app_context():
        deputy = db.session.scalar(db.select(Deputy).where(Deputy.name == "赵敏"))
        assert deputy.phone == "+8613600136005"
        assert deputy.level_codes == ["national", "county"]
        assert sorted(deputy.tag_names) == ["乡镇", "连任"]
        assert (deputy.title, deputy.active, deputy.opted_out) == ("科长", True, False)
    creates = [a for a in audit_actions(app) if a[0] == "deputy.create"]
    assert creates == [("deputy.create", user.username, {"name": "赵敏", "phone": "+8613600136005"})]


def _messages(app, locale):
    """The service's own messages in a locale, to compare with what the page shows."""
    from notifier.roster.levels import LevelError
    from notifier.roster.phones import PhoneError, normalise_phone
    from notifier.roster.service import DeputyInvalid, create_deputy

    with app.test_request_context(), force_locale(locale):
        with pytest.raises(PhoneError) as bad_phone:
            normalise_phone("12345")
        unknown = str(LevelError(["galactic"]))
        with pytest.raises(DeputyInvalid) as duplicate:
            create_deputy({"name": "甲", "phone": "13800138000"})
            create_deputy({"name": "乙", "phone": "13800138000"})
        return {"phone": str(bad_phone.value), "level": unknown, "duplicate": duplicate.value.errors["phone"][0]}


def _has_cjk(text):
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def test_validation_errors_in_chinese_then_in_english(as_role, add_deputy, app):
    client, user = as_role("composer")
    zh = _messages(app, "zh_Hans_CN")
    from notifier.extensions import db

    with app.app_context():  # _messages created 甲; start from one known deputy
        db.session.execute(db.text("TRUNCATE deputies CASCADE"))
        db.session.commit()
    en = _messages(app, "en")
    for key in zh:
        assert _has_cjk(zh[key]), f"no Chinese translation for the {key} message: {zh[key]!r}"
        assert zh[key] != en[key]

    def shown(data):
        response = form_post(client, "/deputies/new/", _deputy_form(**data))
        assert response.status_code == 200  # the form again, not a redirect
        return response.get_data(as_text=True)

    # 13800138000 exists (甲, from _messages)
    html = shown({"phone": "12345"})
    assert str(escape(zh["phone"])) in html
    assert "创建记录失败" in html  # Flask-Admin's own message, in Chinese too
    assert str(escape(zh["level"])) in shown({"levels": ["galactic"]})
    html = shown({"phone": "138 0013 8000"})
    assert str(escape(zh["duplicate"])) in html

    token = csrf_token(client, "/deputies/")
    assert client.post("/language", data={"locale": "en", "csrf_token": token}).status_code == 302
    html = shown({"phone": "12345"})
    assert str(escape(en["phone"])) in html and "Failed to create record." in html
    assert str(escape(en["level"])) in shown({"levels": ["galactic"]})
    assert str(escape(en["duplicate"])) in shown({"phone": "+86 138 0013 8000"})
    from notifier.roster.models import Deputy

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 1


def test_edit_goes_through_the_service(as_role, add_deputy, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    deputy_id = add_deputy("张伟", "13800138000", levels="县级", tags="乡镇")
    other = add_deputy("李娜", "13900139001")
    client, user = as_role("approver")
    page = client.get(f"/deputies/edit/?id={deputy_id}").get_data(as_text=True)
    assert re.search(r'<option selected value="county">|<option value="county" selected', page)
    assert 'value="乡镇"' in page

    path = f"/deputies/edit/?id={deputy_id}"
    response = form_post(client, path, _deputy_form(name="张伟", phone="13800138000", levels=["municipal"], tags="", active=""))
    assert response.status_code == 302
    with app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert (deputy.level_codes, deputy.tag_names, deputy.active) == (["municipal"], [], False)
    update = [d for a, actor, d in audit_actions(app) if a == "deputy.update"]
    assert len(update) == 1 and {"levels", "tags", "active", "title"} <= set(update[0]["fields"])

    # another deputy's number: refused, nothing changes
    response = form_post(client, path, _deputy_form(name="张伟", phone="139 0013 9001"))
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Deputy, deputy_id).phone == "+8613800138000"
        assert db.session.get(Deputy, other).phone == "+8613900139001"


def test_deactivate_and_activate_actions(as_role, add_deputy, app):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    ids = [add_deputy("甲", "13800138000"), add_deputy("乙", "13900139001")]
    client, _ = as_role("composer")
    token = csrf_token(client, "/deputies/")
    response = client.post("/deputies/action/", data={"action": "deactivate", "rowid": [str(i) for i in ids], "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert [db.session.get(Deputy, i).active for i in ids] == [False, False]
    client.post("/deputies/action/", data={"action": "activate", "rowid": [str(ids[0])], "csrf_token": token})
    with app.app_context():
        assert [db.session.get(Deputy, i).active for i in ids] == [True, False]
    assert [a for a, *_ in audit_actions(app)].count("deputy.update") == 3


def test_opt_out_recorded_by_staff_cleared_only_by_admin_with_reason(as_role, add_deputy, app, make_user, login):
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    deputy_id = add_deputy("张伟", "13800138000")
    path = f"/deputies/opt-out/?id={deputy_id}"
    composer, _ = as_role("composer")
    # a reason is required
    assert form_post(composer, path, {"reason": ""}).status_code == 200
    with app.app_context():
        assert db.session.get(Deputy, deputy_id).opted_out is False
    assert form_post(composer, path, {"reason": "本人电话要求"}).status_code == 302
    with app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert deputy.opted_out and deputy.opted_out_via == "admin: 本人电话要求"
    # the composer may not clear it
    assert composer.get(path).status_code == 403
    assert composer.post(path, data={"reason": "x", "csrf_token": csrf_token(composer, "/deputies/")}).status_code == 403
    # nor through the edit form (it has no opt-out field)
    form_post(composer, f"/deputies/edit/?id={deputy_id}", {**_deputy_form(name="张伟", phone="13800138000"), "opted_out": "y"})
    with app.app_context():
        assert db.session.get(Deputy, deputy_id).opted_out is True

    admin = make_user("admin")
    composer.post("/logout", data={"csrf_token": csrf_token(composer, "/deputies/")})
    client = login(admin)
    assert form_post(client, path, {"reason": ""}).status_code == 200
    assert form_post(client, path, {"reason": "代表来电要求恢复"}).status_code == 302
    with app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert deputy.opted_out is False and deputy.opted_out_at is None
    events = [(a, d.get("reason")) for a, _actor, d in audit_actions(app) if a.startswith("deputy.opt")]
    assert events == [("deputy.opt_out", "admin: 本人电话要求"), ("deputy.opt_in", "admin: 代表来电要求恢复")]


def test_export_follows_the_list_filters_and_is_audited(as_role, roster, app):
    from tests.roster.files import read_csv, read_xlsx

    client, user = as_role("viewer")
    response = client.get("/deputies/download/csv/?flt0_2=乡镇")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=deputies-")
    rows = read_csv(response.data)
    assert rows[0][:2] == ["姓名", "手机号码"]
    assert sorted(r[0] for r in rows[1:]) == ["刘洋", "张伟"]
    response = client.get("/deputies/download/xlsx/?search=人民医院")
    cells = read_xlsx(response.data)
    assert sorted(row[0][0] for row in cells[1:] if row[0][0]) == ["李娜", "陈静"]
    all_rows = read_csv(client.get("/deputies/download/csv/").data)
    assert len(all_rows) == 6
    exports = [(a, actor, d) for a, actor, d in audit_actions(app) if a == "roster.export"]
    assert [(e[1], e[2]["format"], e[2]["filtered"], e[2]["search"]) for e in exports] == [
        (user.username, "csv", True, ""),
        (user.username, "xlsx", False, "人民医院"),
        (user.username, "csv", False, ""),
    ]
    assert client.get("/deputies/download/pdf/").status_code == 404
