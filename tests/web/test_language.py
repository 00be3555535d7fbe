"""Chinese by default, English on request; the choice follows the user, Flask-Admin's strings too."""
from tests.conftest import csrf_token


def switch(client, locale, page="/deputies/"):
    response = client.post("/language", data={"locale": locale, "next": page, "csrf_token": csrf_token(client, page)})
    assert response.status_code == 302 and response.headers["Location"] == page
    return client.get(page).get_data(as_text=True)


def test_chinese_by_default_english_after_switching_and_it_sticks(as_role, app):
    client, user = as_role("composer")
    html = client.get("/deputies/").get_data(as_text=True)
    # Flask-Admin's own strings (its zh_Hans_CN catalogue) and ours
    assert "列表" in html and "创建" in html and "搜索" in html
    assert "代表名单" in html and "姓名" in html
    assert ">List" not in html

    html = switch(client, "en")
    assert ">List" in html and ">Create<" in html and "Search" in html
    assert "Deputies" in html and "Name" in html
    assert "列表" not in html and "代表名单" not in html

    from notifier.accounts.models import User
    from notifier.extensions import db

    with app.app_context():
        assert db.session.get(User, user.id).locale == "en"
    # a new session (another browser) gets the user's language after login
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post("/login", data={"username": user.username, "password": "correct-horse-42", "csrf_token": token})
    assert ">List" in other.get("/deputies/").get_data(as_text=True)

    html = switch(client, "zh_Hans_CN", page="/")
    assert "首页" in html or "代表名单" in html
    assert switch(client, "klingon", page="/") == client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).locale == "zh_Hans_CN"


def test_login_page_language_for_visitors(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    token = csrf_token(client, "/login")
    client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": token})
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html and "Log in" in html


def test_lists_are_joined_as_each_language_writes_them(app):
    from flask_babel import force_locale

    from notifier.web.common import join_list

    with app.test_request_context():
        assert join_list(["省级", "县级"]) == "省级、县级"
        with force_locale("en"):
            assert join_list(["provincial", "county"], {"county": "County"}) == "provincial, County"
