"""After a login, a language switch or an inbox mark the browser goes back where it came from:
only to a path on this site, never to one a browser would turn into another site."""
import pytest

from tests.conftest import PASSWORD, csrf_token

# What browsers read as another site: a backslash is a slash, tabs and newlines are dropped.
OFF_SITE = ["//evil.example/", "/\\evil.example/", "\\\\evil.example", "/\t/evil.example/", "/\n/evil.example",
            "https://evil.example/", "http:evil.example", " //evil.example", "/\x00/evil.example", "/%09/x\\y"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_sends_the_browser_off_site(client, make_user, target):
    user = make_user("viewer")
    response = client.post("/login", query_string={"next": target},
                           data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_goes_back_to_a_page_on_this_site(client, make_user):
    user = make_user("viewer")
    response = client.post("/login", query_string={"next": "/notices/?status=draft"},
                           data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/notices/?status=draft"


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_inbox_mark_form_stays_on_this_site(as_role, target):
    client, _user = as_role("composer")
    response = client.post("/replies/mark", data={"what": "read", "next": target,
                                                  "csrf_token": csrf_token(client, "/replies/")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/replies/"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/"])
def test_the_language_switch_stays_on_this_site(client, target):
    response = client.post("/language", data={"locale": "en", "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
