"""The reports' background job (notifier.jobs runs it): a large XLSX export of the message log or
of a notice's recipients, written by a worker rather than inside the request."""
import os

from flask_babel import gettext as _

from notifier.delivery.models import Message
from notifier.extensions import db
from notifier.jobs.service import JobError, JobOutcome, file_path, output_name


def export_params(what, filters=None, notice_id=None, ids=None, title="", file_name=""):
    """What run_export needs to read the same rows again: the log's filters (as_args), or a
    notice (and, for its call list, the message ids it showed)."""
    return {"what": what, "filters": filters or {}, "notice_id": notice_id, "ids": ids, "title": title,
            "file_name": file_name}


def export_query(params):
    from notifier.reports import export
    from notifier.reports.log import log_query, parse_filters

    if params["what"] == "notice":
        query = export.notice_query(params["notice_id"])
        return query if params.get("ids") is None else query.where(Message.id.in_(params["ids"]))
    f, problems = parse_filters(params.get("filters") or {})
    if problems:
        raise JobError(_("The filters of this export are no longer valid."))
    return log_query(f)


def run_export(job, progress):
    from notifier.accounts.models import User
    from notifier.reports import export
    from notifier.reports.masking import masker

    owner = db.session.get(User, job.owner_id) if job.owner_id else None
    if owner is None:
        raise JobError(_("The user who asked for this export no longer exists."))
    params = job.params
    path = file_path(output_name(job, ".xlsx"))
    partial = path + ".part"
    progress(0, job.total, "writing")
    count = export.write_xlsx(export_query(params), partial, masker(owner), params.get("title") or None,
                              progress=lambda n: progress(n, job.total, "writing"))
    os.replace(partial, path)  # a rerun after a crash never serves half a file
    return JobOutcome(result={"rows": count}, file_name=params.get("file_name"), has_file=True)
