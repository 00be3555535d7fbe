"""The README's run command, end to end: `notifier demo` (SQLite, embedded redis-server, the
simulator, a worker, beat and the web app) lets a composer write a notice to the county deputies,
a second user approve it, and both watch the texts go out and be delivered."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from notifier.demo import free_port
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOGIN = re.compile(r"login: (\S+)\s+password: (\S+)\s+\((\w+)\)(?:\s+two-step key: (\w+))?")


@pytest.fixture(params=["twilio", "cmpp"])
def demo(request, tmp_path):
    """`notifier demo`, simulating Twilio or (`--gateway cmpp`) a China Mobile ISMG with the
    `notifier cmpp` connector between it and the outbox."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "TEST_", "DATABASE_URL", "REDIS_URL"))}
    env["PYTHONUNBUFFERED"] = "1"
    log = open(tmp_path / "demo.out", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "notifier.cli", "demo", "--port", str(port), "--data-dir",
                             str(tmp_path / "demo-data"), "--gateway", request.param], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    logins, deadline = {}, time.monotonic() + 240
    while time.monotonic() < deadline and len(logins) < 3:
        assert proc.poll() is None, (tmp_path / "demo.out").read_text()
        logins = {m.group(3): (m.group(1), m.group(2)) for m in LOGIN.finditer((tmp_path / "demo.out").read_text())}
        keys = {m.group(3): m.group(4) for m in LOGIN.finditer((tmp_path / "demo.out").read_text())}
        time.sleep(0.5)
    assert len(logins) == 3, (tmp_path / "demo.out").read_text()
    url = re.search(r"is running: (http://\S+)", (tmp_path / "demo.out").read_text()).group(1)
    assert keys["admin"] and keys["approver"] and not keys["composer"], (tmp_path / "demo.out").read_text()
    yield url, {role: (*login, keys[role]) for role, login in logins.items()}
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    # Every child stopped with it.
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "demo-data")], capture_output=True, text=True).stdout
    assert leftover.strip() == "", leftover


def test_demo_journey_compose_approve_deliver(demo, browser, screenshot, page, request):
    url, logins = demo
    # The roster is there, across the four levels.
    log_in(page, *logins["admin"][:2], url=url, totp_secret=logins["admin"][2])
    page.goto(url + "/deputies/")
    expect(page.locator("table.model-list tbody tr")).not_to_have_count(0)
    folder = os.path.dirname(screenshot("demo-roster"))

    composer = page.context.browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    log_in(composer, *logins["composer"][:2], url=url)
    composer.goto(url + "/notices/new")
    composer.fill("input[name=title]", "关于召开县人大常委会会议的通知")
    composer.check("input[name=levels][value=county]")
    composer.fill("textarea[name=body]", "{name}代表：定于本周五上午九时在县人大常委会三楼会议室召开常委会会议，请准时出席。")
    composer.check("input[name=reply][value=confirm]")
    composer.wait_for_function("Number(document.getElementById('pv-recipients').textContent) > 0")
    composer.click("#save-submit")
    composer.wait_for_url(re.compile(r"/notices/\d+$"))
    notice_url = composer.url

    approver = page.context.browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    log_in(approver, *logins["approver"][:2], url=url, totp_secret=logins["approver"][2])
    approver.goto(notice_url)
    approver.once("dialog", lambda dialog: dialog.accept())
    approver.click("#btn-approve")
    approver.wait_for_url(notice_url)

    # The composer's page follows the sending live, to the end: every text final, most delivered.
    composer.goto(notice_url)
    composer.wait_for_function("document.getElementById('progress-card').dataset.live === 'false'", timeout=180000)
    delivered = int(composer.text_content("#count-delivered"))
    assert delivered > 0
    assert composer.get_attribute("#notice-status-line .notice-status", "data-status") == "completed"
    assert composer.locator("#btn-cancel").count() == 0  # a finished notice offers no cancel

    # The simulator plays deputies answering: the reply tallies fill up.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        composer.reload()
        answered = sum(int(composer.text_content(f"#tally-{key}")) for key in ("confirmed", "declined", "other"))
        if answered:
            break
        time.sleep(3)
    assert answered > 0
    composer.screenshot(path=os.path.join(folder, f"demo-notice-done-{request.node.callspec.id}.png"), full_page=True)
