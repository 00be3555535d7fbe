"""Background jobs in-process: a job runs to its result (import, XLSX export), its progress is
written as it goes, a failure keeps a reason the owner can read, the sweeper takes up a job whose
worker died and removes files past their retention."""
import os
from datetime import timedelta

import openpyxl

from notifier.accounts.models import User
from notifier.audit.models import AuditEvent
from notifier.extensions import db
from notifier.jobs import service
from notifier.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from notifier.roster.exporter import export_roster
from notifier.roster.models import Deputy
from notifier.roster.service import create_deputy, deputy_to_dict
from notifier.timeutil import utcnow
from tests.jobs.conftest import roster_csv


def _user(make_user, role="composer"):
    return db.session.get(User, make_user(role).id)


def _import_job(user, data, filename="名单.csv", total=0):
    name = service.new_file_name(".upload")
    with open(service.file_path(name), "wb") as fh:
        fh.write(data)
    return service.create("roster.import", user, {"input": name, "filename": filename}, total=total,
                          locale="zh_Hans_CN"), name


def test_an_import_job_saves_the_rows_audits_them_and_removes_its_upload(ctx, jobs_dir, make_user):
    user = _user(make_user)
    job, upload = _import_job(user, roster_csv(1200), total=1200)
    assert job.status == QUEUED and job.done == 0
    assert service.run(job.id) == DONE
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.done, job.total, job.stage) == (DONE, 1200, 1200, "saving")
    assert job.result["created"] == 1200 and job.result["errors"] == [] and job.finished_at is not None
    assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 1200
    deputy = deputy_to_dict(db.session.scalars(db.select(Deputy).where(Deputy.phone == "+8613800000004")).one())
    assert (deputy["name"], deputy["levels"], deputy["tags"], deputy["active"], deputy["opted_out"]) == (
        "代表4", ["municipal", "county"], ["标签4"], True, False)
    assert (deputy["groups"], deputy["stations"]) == (["第1代表小组"], ["城关联络站"])
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "roster.import")).one()
    assert (event.actor, event.detail["created"], event.detail["filename"]) == (user.username, 1200, "名单.csv")
    assert not os.path.exists(service.file_path(upload))
    # A task delivered twice runs the job once.
    assert service.run(job.id) is None


def test_the_same_file_again_changes_nothing(ctx, jobs_dir, make_user):
    user = _user(make_user)
    for expected in ("created", "unchanged"):
        job, _name = _import_job(user, roster_csv(300))
        assert service.run(job.id) == DONE
        assert db.session.get(Job, job.id).result[expected] == 300


def test_progress_is_written_on_its_own_connection_every_few_rows(ctx, jobs_dir, make_user):
    job = service.create("roster.export", _user(make_user), {"ids": []})
    db.session.execute(db.update(Job).where(Job.id == job.id).values(status=RUNNING))
    db.session.commit()
    progress = service.progress_writer(job.id, every=100)

    def seen():
        with db.engine.connect() as conn:
            return conn.execute(db.select(Job.done, Job.total, Job.stage).where(Job.id == job.id)).one()

    progress(0, 1000, "writing")
    assert tuple(seen()) == (0, 1000, "writing")
    progress(50, 1000, "writing")  # too soon: not written
    assert seen().done == 0
    progress(150, 1000, "writing")
    assert seen().done == 150
    db.session.expire_all()
    state = service.status(db.session.get(Job, job.id))
    assert (state["percent"], state["finished"]) == (15, False)


def test_an_export_job_writes_the_xlsx_the_direct_export_would(ctx, jobs_dir, make_user):
    for i in range(30):
        create_deputy({"name": f"代表{i}", "phone": f"1390000{i:04d}", "levels": "县级", "tags": "=SUM(1)",
                       "groups": "城关代表小组", "stations": "城关联络站"}, actor="system")
    ids = list(db.session.scalars(db.select(Deputy.id).order_by(Deputy.name_sort, Deputy.id)))
    job = service.create("roster.export", _user(make_user, "admin"), {"ids": ids, "file_name": "deputies.xlsx"},
                         total=len(ids))
    assert service.run(job.id) == DONE
    job = db.session.get(Job, job.id)
    assert (job.result, job.file_name) == ({"rows": 30}, "deputies.xlsx")
    made = openpyxl.load_workbook(service.file_path(job.file_path), read_only=True)
    direct = openpyxl.load_workbook(__import__("io").BytesIO(export_roster("xlsx")[0]), read_only=True)
    assert [r for r in made.worksheets[0].iter_rows(values_only=True)] == \
        [r for r in direct.worksheets[0].iter_rows(values_only=True)]


def test_a_failed_job_keeps_a_reason_its_owner_can_read(ctx, jobs_dir, make_user):
    user = _user(make_user)
    job, upload = _import_job(user, "备注\n随便写点什么\n".encode(), "坏文件.csv")
    assert service.run(job.id) == FAILED
    job = db.session.get(Job, job.id)
    assert "姓名" in job.error and "手机号码" in job.error  # the importer's own words: which columns are missing
    assert not os.path.exists(service.file_path(upload))
    # An unexpected error: a general message naming the job, not a traceback.
    broken = service.create("roster.export", user, {"ids": [[1, 2]]}, locale="en")
    assert service.run(broken.id) == FAILED
    error = db.session.get(Job, broken.id).error
    assert f"job {broken.id}" in error and "Traceback" not in error and "unexpected" in error


def test_the_sweeper_runs_a_job_again_whose_worker_died_then_gives_up(ctx, jobs_dir, make_user):
    user = _user(make_user)
    job = service.create("roster.export", user, {"ids": []})
    fresh = service.create("roster.export", user, {"ids": []})
    long_ago = utcnow() - timedelta(hours=1)
    db.session.execute(db.update(Job).where(Job.id == job.id).values(status=RUNNING, attempts=1, done=7,
                                                                     heartbeat_at=long_ago))
    # A job still making progress is left alone.
    db.session.execute(db.update(Job).where(Job.id == fresh.id).values(status=RUNNING, attempts=1,
                                                                       heartbeat_at=utcnow()))
    db.session.commit()
    assert service.sweep()["requeued"] == 1
    db.session.expire_all()
    assert (db.session.get(Job, job.id).status, db.session.get(Job, job.id).done) == (QUEUED, 0)
    assert db.session.get(Job, fresh.id).status == RUNNING
    # Its second run dies too: now it is marked failed, never left "running".
    db.session.execute(db.update(Job).where(Job.id == job.id).values(status=RUNNING, attempts=2,
                                                                     heartbeat_at=long_ago))
    db.session.commit()
    assert service.sweep()["failed"] == 1
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == FAILED and "中断" in job.error


def test_result_files_are_removed_after_their_retention(ctx, jobs_dir, make_user):
    user = _user(make_user)
    create_deputy({"name": "张三", "phone": "13800138000"}, actor="system")
    old = service.create("roster.export", user, {"ids": [1], "file_name": "a.xlsx"})
    new = service.create("roster.export", user, {"ids": [1], "file_name": "b.xlsx"})
    for job in (old, new):
        assert service.run(job.id) == DONE
    old, new = db.session.get(Job, old.id), db.session.get(Job, new.id)
    old_file, new_file = service.file_path(old.file_path), service.file_path(new.file_path)
    old.finished_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert service.sweep()["removed"] == 1
    assert not os.path.exists(old_file) and os.path.exists(new_file)
    assert db.session.get(Job, old.id).file_path is None
    assert not service.status(db.session.get(Job, old.id))["has_file"]
