"""Error pages speak the user's language and lead back home; the API keeps answering JSON."""
from tests.conftest import csrf_token


def switch_to_english(client):
    client.post("/language", data={"locale": "en", "next": "/", "csrf_token": csrf_token(client, "/")})


def test_not_found_and_no_access_in_chinese_then_english(client, login, make_user):
    login(make_user("composer"))
    missing = client.get("/notices/999999")
    assert missing.status_code == 404
    page = missing.get_data(as_text=True)
    assert "页面不存在" in page and 'id="error-home" href="/"' in page and "Not Found" not in page
    refused = client.get("/users/")
    assert refused.status_code == 403 and "无权访问" in refused.get_data(as_text=True)
    switch_to_english(client)
    page = client.get("/notices/999999").get_data(as_text=True)
    assert "Page not found" in page and "Back to the home page" in page


def test_an_expired_form_says_what_to_do(client, login, make_user):
    login(make_user("composer"))
    response = client.post("/notices/new", data={"title": "x"})  # no CSRF token
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)


def test_the_api_and_webhooks_keep_their_own_errors(client, make_user, token_for):
    response = client.get("/api/v1/notices/999999", headers=token_for(make_user("viewer")))
    assert response.status_code == 404 and response.is_json
    assert client.get("/api/v1/no-such-thing").is_json
    webhook = client.get("/webhooks/twilio/status")
    assert webhook.status_code == 405 and "error-home" not in webhook.get_data(as_text=True)  # no page for Twilio
