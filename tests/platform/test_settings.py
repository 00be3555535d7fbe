"""Settings that do not parse stop every process at start, naming the variable, instead of
failing each tick later (the web app, the CLI, a worker and beat all build the app first)."""
import os
import subprocess
import sys

import pytest

from notifier import create_app
from notifier.settings_check import SettingsError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTIFIER = os.path.join(os.path.dirname(sys.executable), "notifier")


def _run(command, **bad):
    env = {**os.environ, "NOTIFIER_ENV": "testing", "NOTIFIER_DOTENV": "/nonexistent", **bad}
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("name", "value", "hint"), [
    ("QUIET_HOURS", "22:00-7", "22:00-07:00"),
    ("SMS_RATE_LIMIT", "fast", "a number"),
    ("TIMEZONE", "Beijing", "Asia/Shanghai"),
    ("SMS_GATEWAY", "cmpp,sms", "unknown gateway 'sms'"),
    ("SMS_ROUTES", "86=cmpp", "PREFIX=gateway"),
])
def test_the_cli_stops_at_start_naming_the_setting(name, value, hint):
    out = _run([NOTIFIER, "db", "current"], **{name: value})
    assert out.returncode != 0
    assert f"{name}={value!r}" in out.stderr and hint in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_celery_stops_at_start_naming_the_setting(process):
    out = _run([sys.executable, "-m", "celery", "-A", "workers", process], QUIET_HOURS="22:00~07:00")
    assert out.returncode != 0
    assert "QUIET_HOURS='22:00~07:00'" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(("name", "value", "hint"), [
    ("CELERY_WORKER_CONCURRENCY", "many", "a whole number of at least 1"),
    ("CELERY_WORKER_POOL", "gevent", "prefork, threads or solo"),
])
def test_a_worker_with_a_bad_pool_setting_stops_naming_it(name, value, hint):
    out = _run([sys.executable, "-m", "celery", "-A", "workers", "worker"], **{name: value})
    assert out.returncode != 0
    assert f"{name}={value!r}" in out.stderr and hint in out.stderr
    assert "Traceback" not in out.stderr


def test_the_web_app_does_not_start_either():
    out = _run([sys.executable, "-c", "import notifier.wsgi"], DEFAULT_REGION="China")
    assert out.returncode != 0 and "DEFAULT_REGION='China'" in out.stderr


def test_every_wrong_setting_is_named_at_once():
    with pytest.raises(SettingsError) as caught:
        create_app("testing", DEFAULT_REGION="XX", DEFAULT_LOCALE="fr", SMS_SIGNATURE="县人大常委会",
                   LOGIN_RATE_LIMIT="lots", PUBLIC_BASE_URL="sms.example.gov.cn", QUIET_HOURS="25:00-07:00")
    named = {problem.split("=", 1)[0] for problem in caught.value.problems}
    assert named == {"DEFAULT_REGION", "DEFAULT_LOCALE", "SMS_SIGNATURE", "LOGIN_RATE_LIMIT", "PUBLIC_BASE_URL",
                     "QUIET_HOURS"}


def test_numbers_out_of_range_are_refused():
    bad = {"SMS_RATE_LIMIT": "0", "SEND_BATCH_SIZE": "-5", "SMS_VALIDITY_PERIOD": "86400", "TRUSTED_PROXIES": "one",
           "SESSION_IDLE_MINUTES": "0", "MAX_UPLOAD_BYTES": "10MB", "SESSION_COOKIE_SECURE": "maybe",
           # production settings, so that SESSION_COOKIE_SECURE is read
           "NOTIFIER_ENV": "production", "SECRET_KEY": "x" * 32, "DATABASE_URL": os.environ.get(
               "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"), "REDIS_URL": "redis://x"}
    out = _run([sys.executable, "-c", "import notifier.wsgi"], **bad)
    assert out.returncode != 0
    for name in ("SMS_RATE_LIMIT", "SEND_BATCH_SIZE", "SMS_VALIDITY_PERIOD", "TRUSTED_PROXIES", "SESSION_IDLE_MINUTES",
                 "MAX_UPLOAD_BYTES", "SESSION_COOKIE_SECURE"):
        assert f"{name}={bad[name]!r}" in out.stderr, (name, out.stderr[-800:])


def test_good_values_start():
    app = create_app("testing", QUIET_HOURS="21:30-06:45", TIMEZONE="Asia/Urumqi", DEFAULT_REGION="hk",
                     DEFAULT_LOCALE="en", SMS_SIGNATURE="【某县人大常委会】", TRUSTED_PROXIES=1)
    assert app.config["QUIET_HOURS"] == "21:30-06:45"
