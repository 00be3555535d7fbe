"""The roster's background jobs (notifier.jobs runs them): applying a large import, and
exporting a large roster as XLSX."""
import os

from flask_babel import gettext as _

from notifier.extensions import db
from notifier.jobs.service import JobError, JobOutcome, file_path, output_name


def _owner(job):
    from notifier.accounts.models import User

    return db.session.get(User, job.owner_id) if job.owner_id else None


def run_import(job, progress):
    """params: {"input": the uploaded file's name in the jobs folder, "filename": as uploaded}."""
    from notifier.roster.importer import RosterFileError, apply_import

    try:
        with open(file_path(job.params["input"]), "rb") as fh:
            data = fh.read()
    except OSError:
        raise JobError(_("The uploaded file is no longer there; upload it again.")) from None
    try:
        preview = apply_import(data, job.params.get("filename", ""), actor=_owner(job) or "system",
                               progress=progress)
    except RosterFileError as exc:
        raise JobError(str(exc)) from None
    return JobOutcome(result={**preview.to_dict(), "error_rows": preview.error_rows,
                              "filename": preview.filename})


def run_export(job, progress):
    """params: {"ids": the deputies the list showed when asked, in its order, "format": "xlsx"}."""
    from notifier.reports.masking import masker
    from notifier.roster.exporter import roster_rows, write_xlsx

    ids = list(job.params.get("ids") or ())
    owner = _owner(job)
    if owner is None:
        raise JobError(_("The user who asked for this export no longer exists."))
    name = output_name(job, ".xlsx")
    path = file_path(name)
    progress(0, len(ids), "writing")
    partial = path + ".part"
    count = write_xlsx(partial, roster_rows(ids=ids, mask=masker(owner)), _("Deputy list"),
                       progress=lambda n: progress(n, len(ids), "writing"))
    os.replace(partial, path)  # a rerun after a crash never serves half a file
    return JobOutcome(result={"rows": count}, file_name=job.params.get("file_name"), has_file=True)
