"""Job fixtures: a jobs folder shared by the app and a real Celery worker process that consumes
the jobs queue (with the test database and Redis)."""
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def jobs_dir(app, tmp_path_factory):
    """Jobs' inputs and results go to a temporary folder (the worker is told the same one)."""
    path = str(tmp_path_factory.mktemp("jobs"))
    before = app.config.get("JOBS_DIR")
    app.config["JOBS_DIR"] = path
    yield path
    app.config["JOBS_DIR"] = before


class JobWorker:
    def __init__(self, app, jobs_dir, tmp_path, **settings):
        env = dict(os.environ)
        env.update({"NOTIFIER_ENV": "testing", "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "TEST_REDIS_URL": app.config["REDIS_URL"], "JOBS_DIR": jobs_dir, "PYTHONPATH": ROOT})
        env.update({k: str(v) for k, v in settings.items()})
        self.log_path = tmp_path / "job-worker.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "jobs", "--loglevel", "INFO",
             "-n", "jobs@%h", "--concurrency", "2", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while " ready." not in self.log_path.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise AssertionError(f"job worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the main process: a warm shutdown of its pool
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        print(self.log_path.read_text()[-4000:])  # shown by pytest when a test fails


@pytest.fixture
def job_worker(app, jobs_dir, tmp_path):
    worker = JobWorker(app, jobs_dir, tmp_path)
    yield worker
    worker.stop()


def roster_csv(n, start=0):
    lines = ["姓名,手机号码,代表层级,标签,代表小组,联络站"]
    for i in range(start, start + n):
        lines.append(f"代表{i},1380{i:07d},{'县级' if i % 2 else '市级、县级'},标签{i % 5},第{i % 3}代表小组,"
                     f"城关联络站")
    return ("\n".join(lines) + "\n").encode()
