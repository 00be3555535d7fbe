"""docker-compose.yml is valid Compose (no Docker engine here, so we check it against the schema)."""
import os

import jsonschema
import yaml

from tests.conftest import reference_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _compose():
    with open(os.path.join(ROOT, "docker-compose.yml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_compose_file_validates_against_the_compose_spec():
    import json

    with open(reference_file("compose-spec.schema.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    # The spec declares draft-07; name it so jsonschema does not guess.
    jsonschema.Draft7Validator(schema).validate(_compose())


def test_compose_runs_the_documented_processes():
    services = _compose()["services"]
    assert {"web", "worker", "beat", "redis", "postgres"} <= set(services)
    assert "notifier.wsgi:app" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "workers", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers", "beat"]
    assert services["sender"]["command"][:4] == ["celery", "-A", "workers", "worker"]
    # The CMPP connector is a service of its own, with the settings DESIGN.md names.
    assert services["cmpp"]["command"] == ["notifier", "cmpp"]
    for name in ("web", "worker", "sender", "beat", "cmpp"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql")
        assert env["REDIS_URL"].startswith("redis://redis")
        assert {"SMS_GATEWAY", "CMPP_HOST", "CMPP_PORT", "CMPP_SP_ID", "CMPP_SHARED_SECRET", "CMPP_SERVICE_ID",
                "CMPP_SRC_ID", "CMPP_WINDOW"} <= set(env)


def test_the_workers_between_them_consume_every_queue():
    from notifier.delivery.dispatch import QUEUES, SEND_QUEUE

    services = _compose()["services"]
    consumed = {}
    for name in ("worker", "sender"):
        command = services[name]["command"]
        consumed[name] = set(command[command.index("-Q") + 1].split(","))
    assert consumed["sender"] == {SEND_QUEUE}
    assert consumed["worker"] | consumed["sender"] == set(QUEUES)


def test_every_long_running_service_has_a_health_check_and_flower_a_password():
    services = _compose()["services"]
    for name, service in services.items():
        if name == "migrate":  # a one-shot job: the others wait for it to complete
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service and service["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    flower = services["flower"]
    command = " ".join(flower["command"])
    assert "--basic-auth=" in command and "FLOWER_PASSWORD" in command and "exit 1" in command
    assert flower["ports"] == ["127.0.0.1:5555:5555"]  # not on every interface
