"""GET /healthz, /readyz (503 naming the failing part) and /metrics (Prometheus text, behind a
token or a network rule)."""
import pytest

from notifier.extensions import db
from notifier.gateways.models import REFUSING, GatewayState


def test_healthz_answers_without_asking_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_ok_then_names_redis(app, client, monkeypatch):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok", "gateway:twilio": "ok"}
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    failing = client.get("/readyz")
    assert failing.status_code == 503
    assert failing.get_json()["failing"] == ["redis"]


def test_readyz_names_a_gateway_that_stopped_answering(app, client):
    with app.app_context():
        db.session.add(GatewayState(name="twilio", position=0, health=REFUSING))
        db.session.commit()
    failing = client.get("/readyz")
    assert failing.status_code == 503
    body = failing.get_json()
    assert body["failing"] == ["gateway:twilio"] and body["checks"]["gateway:twilio"].startswith("failing: refusing")


@pytest.mark.parametrize("address, headers, status", [
    ("127.0.0.1", {}, 200),
    ("10.1.2.3", {}, 403),
    ("10.1.2.3", {"Authorization": "Bearer wrong"}, 403),
    ("10.1.2.3", {"Authorization": "Bearer scrape-me"}, 200),
])
def test_metrics_need_the_token_or_an_allowed_network(app, client, monkeypatch, address, headers, status):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-me")
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == status
    if status == 200:
        text = response.get_data(as_text=True)
        for family in ("notifier_texts", "notifier_queue_depth", "notifier_gateway_call_seconds",
                       "notifier_limiter_waits", "notifier_webhooks"):
            assert f"# TYPE {family}" in text, family


def test_a_forged_webhook_is_counted_as_refused(app, client):
    assert client.post("/webhooks/twilio/status", data={"MessageSid": "SM1"}).status_code == 403
    text = client.get("/metrics").get_data(as_text=True)
    assert 'notifier_webhooks_total{kind="status",outcome="refused"} 1.0' in text
