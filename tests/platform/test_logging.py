"""LOG_FORMAT=json: one JSON object per line with the notice and message ids, in the web app
(ids from the URL), in a Celery worker (ids from the task's arguments) and in-process."""
import io
import json
import logging
import os
import subprocess
import sys
import time

from notifier.ops import logs


def _capture(log_format="json"):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logs.configure(log_format, handlers=[handler], process_name="test")
    logger = logging.getLogger("notifier.test_logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_lines_are_json_with_the_ids_in_context():
    logger, stream = _capture()
    with logs.log_context(notice_id=7, message_id=70):
        logger.info("sent %d texts", 3)
    logger.info("no ids here", extra={"message_ids": [1, 2]})
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "sent 3 texts" and first["notice_id"] == 7 and first["message_id"] == 70
    assert first["level"] == "INFO" and first["logger"] == "notifier.test_logging" and first["process"] == "test"
    assert "notice_id" not in second and second["message_ids"] == [1, 2]


def test_task_arguments_give_the_ids():
    from workers.app import task_ids

    assert task_ids("notices.dispatch", (5,), {}) == {"notice_id": 5}
    assert task_ids("delivery.send", ([1, 2, 3],), {}) == {"message_ids": [1, 2, 3]}
    assert task_ids("delivery.reconcile", (9,), {}) == {"message_id": 9}


def test_the_web_app_logs_json_with_the_notice_id_of_the_url(tmp_path):
    script = (
        "import logging\n"
        "from notifier import create_app\n"
        "app = create_app('testing', LOG_FORMAT='json')\n"
        "@app.get('/notices/<int:notice_id>/log-probe')\n"
        "def probe(notice_id):\n"
        "    logging.getLogger('notifier.probe').info('probe')\n"
        "    return 'ok'\n"
        "app.test_client().get('/notices/42/log-probe')\n"
    )
    env = {**os.environ, "NOTIFIER_ENV": "testing"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    probe = [line for line in lines if line.get("logger") == "notifier.probe"]
    assert probe and probe[0]["notice_id"] == 42 and probe[0]["process"] == "web", result.stderr[-2000:]


def test_a_worker_logs_json(tmp_path):
    env = {**os.environ, "NOTIFIER_ENV": "testing", "LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker", "--concurrency", "1",
                             "-Q", "mlps-logging-probe", "-n", f"logprobe-{os.getpid()}@%h", "--without-heartbeat",
                             "--without-mingle", "--without-gossip"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, deadline = [], time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "ready" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ready = [line for line in lines if "ready" in line]
    assert ready, "".join(lines)[-2000:]
    parsed = json.loads(ready[0])
    assert parsed["level"] == "INFO" and parsed["process"] == "worker" and "ready" in parsed["message"]
