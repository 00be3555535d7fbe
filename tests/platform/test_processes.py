"""The documented processes start: the WSGI app, a Celery worker consuming tasks, the CLI."""
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from notifier.accounts.models import ApiToken, User, hash_token
from notifier.audit.models import AuditEvent
from notifier.extensions import db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_wsgi_module_exposes_the_app(app):
    env = {**os.environ, "NOTIFIER_ENV": "testing"}
    code = "from notifier.wsgi import app; print(type(app).__name__, app.config['TESTING'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Flask", "True"]


def test_production_settings_refuse_to_start_without_secrets(monkeypatch):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env.update(NOTIFIER_ENV="production", NOTIFIER_DOTENV="/nonexistent")
    out = subprocess.run([sys.executable, "-c", "import notifier.wsgi"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr


@pytest.mark.slow
def test_celery_worker_consumes_the_health_task(app, tmp_path):
    """A real worker started as documented (`celery -A workers worker`) answers the ping task."""
    env = {**os.environ, "NOTIFIER_ENV": "testing"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool", "threads", "--concurrency", "2",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        env=env, cwd=ROOT, stdout=open(tmp_path / "worker.log", "wb"), stderr=subprocess.STDOUT,
    )
    try:
        from workers import celery

        result = celery.send_task("health.ping")
        assert result.get(timeout=60) == "pong"
        # With no -Q, the worker consumes every queue the platform routes to.
        inspect = celery.control.inspect(timeout=5)
        active = inspect.active_queues() or {}
        queues = {q["name"] for qs in active.values() for q in qs}
        assert "periodic" in queues
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_users_create_and_token_commands(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "zhang", "--role", "approver", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "li", "--role", "composer"])
    assert result.exit_code == 0 and "password: " in result.output
    generated = result.output.split("password: ")[1].strip()

    duplicate = runner.invoke(args=["users", "create", "zhang", "--role", "viewer"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    bad_role = runner.invoke(args=["users", "create", "wang", "--role", "boss"])
    assert bad_role.exit_code != 0

    token = runner.invoke(args=["users", "token", "zhang"]).output.strip()
    assert token.startswith("ntf_") and len(token) > 40
    missing = runner.invoke(args=["users", "token", "nobody"])
    assert missing.exit_code != 0

    with app.app_context():
        zhang = db.session.execute(db.select(User).filter_by(username="zhang")).scalar_one()
        li = db.session.execute(db.select(User).filter_by(username="li")).scalar_one()
        # Passwords and tokens are stored hashed, never in the clear.
        assert "s3cret-pass" not in zhang.password_hash and zhang.check_password("s3cret-pass")
        assert li.check_password(generated)
        stored = db.session.execute(db.select(ApiToken)).scalar_one()
        assert stored.token_hash == hash_token(token) and token not in stored.token_hash
        actions = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
        assert actions == ["user.create", "user.create", "token.issue"]


def test_console_script_is_installed():
    result = CliRunner().invoke(__import__("notifier.cli", fromlist=["main"]).main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "users", "roster", "demo"):
        assert command in result.output
