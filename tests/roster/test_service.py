"""Deputy service: create, update, uniqueness, opt-out, queries, audit events."""
import pytest
from flask_babel import force_locale

from notifier.audit.models import AuditEvent
from notifier.extensions import db
from notifier.roster.levels import LevelError
from notifier.roster.models import Deputy, Tag
from notifier.roster.service import (
    DeputyInvalid,
    create_deputy,
    deputy_fields,
    deputy_query,
    deputy_to_dict,
    get_or_create_tags,
    set_opted_out,
    update_deputy,
)


def events(action):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def make(name="张三", phone="13800138000", **extra):
    return create_deputy({"name": name, "phone": phone, **extra}, actor="test")


def test_deputy_fields_normalises(ctx):
    fields = deputy_fields(
        {
            "name": "  张  三 ",
            "phone": "+86 138-0013-8000",
            "levels": "县级、全国人大代表",
            "tags": "乡镇， 连任、乡镇",
            "constituency": None,
            "active": "是",
            "opted_out": "false",
            "unknown": "ignored",
        }
    )
    assert fields == {
        "name": "张 三",
        "phone": "+8613800138000",
        "levels": ["national", "county"],
        "tags": ["乡镇", "连任"],
        "constituency": "",
        "active": True,
        "opted_out": False,
    }


def test_deputy_fields_reports_every_field(ctx):
    with force_locale("en"), pytest.raises(DeputyInvalid) as caught:
        deputy_fields(
            {
                "name": "",
                "phone": "010-12345678",
                "levels": "乡级",
                "title": "x" * 129,
                "organisation": "y" * 256,
                "tags": ["t" * 65],
                "active": "maybe",
            }
        )
    errors = caught.value.errors
    assert set(errors) == {"name", "phone", "levels", "title", "organisation", "tags", "active"}
    assert "landline" in errors["phone"][0]
    assert "乡级" in errors["levels"][0]
    assert "128" in errors["title"][0] and "255" in errors["organisation"][0] and "64" in errors["tags"][0]


def test_deputy_fields_requires_name_and_phone_unless_partial(ctx):
    with pytest.raises(DeputyInvalid) as caught:
        deputy_fields({"title": "镇长"})
    assert set(caught.value.errors) == {"name", "phone"}
    assert deputy_fields({"title": "镇长"}, partial=True) == {"title": "镇长"}
    # boundaries: exactly the column length is fine
    assert deputy_fields({"name": "名" * 64, "phone": "13800138000"})["name"] == "名" * 64


def test_create_deputy_stores_and_audits(ctx):
    deputy = make(levels=["county", "national"], tags="乡镇,连任", constituency="第一选区", title="镇长")
    db.session.expire_all()
    stored = db.session.get(Deputy, deputy.id)
    assert stored.phone == "+8613800138000"
    assert stored.level_codes == ["national", "county"]
    assert stored.tag_names == ["乡镇", "连任"]
    assert stored.active is True and stored.opted_out is False
    [event] = events("deputy.create")
    assert event.actor == "test" and event.target_id == str(deputy.id)
    assert event.detail["phone"] == "+8613800138000"


def test_phone_is_unique_whatever_the_spelling(ctx):
    make()
    with force_locale("en"), pytest.raises(DeputyInvalid) as caught:
        make(name="李四", phone="0086 138 0013 8000")
    assert list(caught.value.errors) == ["phone"]
    assert "already" in caught.value.errors["phone"][0]
    assert db.session.scalar(db.select(db.func.count(Deputy.id))) == 1


def test_create_rejects_invalid_data_without_writing(ctx):
    with pytest.raises(DeputyInvalid) as caught:
        create_deputy({"name": "王五", "phone": "12345"})
    assert "phone" in caught.value.errors
    assert db.session.scalar(db.select(db.func.count(Deputy.id))) == 0
    assert events("deputy.create") == []


def test_update_is_partial_and_audits_changes(ctx):
    deputy = make(levels="county", tags="乡镇", title="镇长", organisation="城关镇")
    update_deputy(deputy, {"title": "党委书记", "levels": "县级、市级"}, actor="test")
    db.session.expire_all()
    deputy = db.session.get(Deputy, deputy.id)
    assert deputy.title == "党委书记"
    assert deputy.level_codes == ["municipal", "county"]
    assert deputy.organisation == "城关镇" and deputy.tag_names == ["乡镇"]  # untouched
    [event] = events("deputy.update")
    assert event.detail["fields"] == ["levels", "title"]
    assert event.detail["changes"]["title"] == {"from": "镇长", "to": "党委书记"}

    update_deputy(deputy, {"title": "党委书记", "levels": ["county", "municipal"]})  # nothing new
    assert len(events("deputy.update")) == 1


def test_update_phone_uniqueness_and_validation(ctx):
    first = make()
    second = make(name="李四", phone="13900139000")
    with pytest.raises(DeputyInvalid) as caught:
        update_deputy(second, {"phone": "138 0013 8000"})
    assert "phone" in caught.value.errors
    with pytest.raises(DeputyInvalid) as caught:
        update_deputy(second, {"name": " "})
    assert "name" in caught.value.errors
    update_deputy(first, {"phone": "+86 13800138000"})  # its own number, re-spelled: fine
    update_deputy(second, {"phone": "13700137000"})
    db.session.expire_all()
    assert db.session.get(Deputy, second.id).phone == "+8613700137000"
    assert db.session.get(Deputy, second.id).name == "李四"


def test_opt_out_and_back(ctx):
    deputy = make()
    set_opted_out(deputy, True, "sms:退订", actor="system")
    db.session.expire_all()
    deputy = db.session.get(Deputy, deputy.id)
    assert deputy.opted_out and deputy.opted_out_via == "sms:退订" and deputy.opted_out_at is not None
    set_opted_out(deputy, True, "sms:退订")  # already: no second event
    assert len(events("deputy.opt_out")) == 1
    set_opted_out(deputy, False, "admin: asked by phone", actor="test")
    db.session.expire_all()
    deputy = db.session.get(Deputy, deputy.id)
    assert not deputy.opted_out and deputy.opted_out_at is None
    [event] = events("deputy.opt_in")
    assert event.detail["reason"] == "admin: asked by phone"

    update_deputy(deputy, {"opted_out": True})
    assert db.session.get(Deputy, deputy.id).opted_out_at is not None
    assert len(events("deputy.opt_out")) == 2


def test_tags_are_shared_rows(ctx):
    tags = get_or_create_tags(["乡镇", "连任"])
    again = get_or_create_tags("连任、新任")
    db.session.commit()
    assert tags[1].id == again[0].id
    assert sorted(db.session.scalars(db.select(Tag.name))) == ["乡镇", "新任", "连任"]
    assert get_or_create_tags([]) == []


def test_deputy_to_dict(ctx):
    deputy = make(levels="全国", tags="连任")
    data = deputy_to_dict(deputy)
    assert data["id"] == deputy.id and data["phone"] == "+8613800138000"
    assert data["levels"] == ["national"] and data["tags"] == ["连任"]
    assert data["opted_out_at"] is None
    assert data["created_at"].endswith("+00:00")
    assert set(data) == {"id", "name", "phone", "levels", "constituency", "organisation", "title", "tags", "groups",
                         "stations", "active", "opted_out", "opted_out_at", "opted_out_via", "created_at", "updated_at"}


def names(query):
    return [d.name for d in db.session.scalars(query)]


def test_deputy_query_filters(ctx):
    make("张三", "13800138000", levels="全国、县级", tags="连任", organisation="城关镇人民政府")
    make("李四", "13900139000", levels="省级", tags="妇女, 连任", organisation="县医院")
    lisi = db.session.scalars(db.select(Deputy).where(Deputy.name == "李四")).one()
    make("王五", "13700137000", levels="县级", tags="乡镇", active=False, organisation="100% 公司")
    set_opted_out(lisi, True, "sms:退订")

    assert names(deputy_query()) == ["李四", "王五", "张三"]  # by pinyin: li, wang, zhang
    assert names(deputy_query(q="李")) == ["李四"]
    assert names(deputy_query(q="医院")) == ["李四"]
    assert names(deputy_query(q="1380013")) == ["张三"]
    assert names(deputy_query(q="139 0013")) == ["李四"]
    assert names(deputy_query(q="8000")) == ["张三"]
    assert names(deputy_query(q="+86 139")) == ["李四"]
    assert names(deputy_query(q="0086-137")) == ["王五"]
    assert names(deputy_query(q="%")) == ["王五"]  # LIKE wildcards are literal
    assert names(deputy_query(q="nobody")) == []
    assert sorted(names(deputy_query(levels=["county"]))) == sorted(["张三", "王五"])
    assert sorted(names(deputy_query(levels="全国、省级"))) == sorted(["张三", "李四"])
    assert sorted(names(deputy_query(tags=["连任"]))) == sorted(["张三", "李四"])
    assert names(deputy_query(tags="乡镇,妇女", active=True)) == ["李四"]
    assert names(deputy_query(active=False)) == ["王五"]
    assert names(deputy_query(opted_out=True)) == ["李四"]
    assert sorted(names(deputy_query(opted_out=False, levels="county"))) == sorted(["张三", "王五"])
    with pytest.raises(LevelError):
        deputy_query(levels="乡级")


def test_text_fields_drop_characters_postgres_cannot_store(ctx):
    deputy = create_deputy({"name": "张\x00三\ud800", "phone": "13800138000", "organisation": "县\x07医院"})
    assert deputy.name == "张三"
    assert deputy.organisation == "县医院"
