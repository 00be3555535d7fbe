"""Background jobs' pages: one's own jobs, a job's progress (the page polls a small JSON status)
and its file. Only the owner and administrators see a job; anyone else gets 404."""
import os

from flask import abort, jsonify, send_file
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from notifier.audit.service import record
from notifier.extensions import db
from notifier.jobs import service
from notifier.jobs.models import Job
from notifier.web.base import ProtectedView

KIND_LABELS = {"roster.import": _l("Roster import"), "roster.export": _l("Roster export (Excel)"),
               "reports.export": _l("Message export (Excel)")}
RECENT = 50


def job_or_404(job_id):
    job = db.session.get(Job, job_id) if 0 < job_id < 2**31 else None
    if not service.visible_to(job, current_user):
        abort(404)
    return job


class JobView(ProtectedView):
    permission = "view"

    def is_visible(self):
        return False  # reached from the import and export pages, not the menu

    @expose("/")
    def index(self):
        jobs = db.session.scalars(db.select(Job).where(Job.owner_id == current_user.id)
                                  .order_by(Job.id.desc()).limit(RECENT)).all()
        return self.render("jobs/index.html", jobs=jobs, kind_labels=KIND_LABELS)

    @expose("/<int:job_id>/")
    def show(self, job_id):
        job = job_or_404(job_id)
        return self.render("jobs/show.html", job=job, state=service.status(job), kind_labels=KIND_LABELS)

    @expose("/<int:job_id>/status")
    def status_json(self, job_id):
        response = jsonify(service.status(job_or_404(job_id)))
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/<int:job_id>/download")
    def download(self, job_id):
        job = job_or_404(job_id)
        path = service.file_path(job.file_path) if job.file_path else None
        if job.status != "done" or not path or not os.path.exists(path):
            abort(404)
        # Exports hand out personal data: every download is on record, like the export itself.
        record("job.download", job, actor=current_user._get_current_object(), kind=job.kind,
               file_name=job.file_name, rows=(job.result or {}).get("rows"))
        db.session.commit()
        response = send_file(path, as_attachment=True, download_name=job.file_name or os.path.basename(path),
                             max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response


def register(admin):
    admin.add_view(JobView(name=_l("Background jobs"), endpoint="jobs", url="/jobs"))
