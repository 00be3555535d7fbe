"""Roster import in two steps: upload -> preview every problem -> confirm -> apply the valid rows.

Between the two steps the uploaded bytes wait in a server-side file (instance/imports/<id>); the
session only remembers which ids belong to this user, so nobody can apply someone else's upload
and no file content travels in the cookie. The file is deleted once applied or discarded.
"""
import os
import re
import secrets
import time

from flask import abort, current_app, flash, redirect, session, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import HiddenField

from notifier.web.base import ProtectedView, SecureForm
from notifier.web.common import download
from notifier.web.roster_views import DeputyView

SESSION_KEY = "roster_imports"
STALE_AFTER = 24 * 3600  # uploads nobody confirmed are removed after a day
_ID = re.compile(r"^[0-9a-f]{32}$")
ALLOWED_EXTENSIONS = (".csv", ".xlsx")


class UploadForm(SecureForm):
    file = FileField(_l("Roster file (CSV or Excel .xlsx)"))


class ConfirmForm(SecureForm):
    import_id = HiddenField()


def upload_dir():
    path = current_app.config.get("ROSTER_IMPORT_DIR") or os.path.join(current_app.instance_path, "imports")
    os.makedirs(path, exist_ok=True)
    return path


def _path(import_id):
    return os.path.join(upload_dir(), import_id)


def _remove_stale():
    cutoff = time.time() - STALE_AFTER
    for name in os.listdir(upload_dir()):
        full = os.path.join(upload_dir(), name)
        try:
            if os.path.getmtime(full) < cutoff:
                os.remove(full)
        except OSError:
            pass  # another worker removed it first


def _pending():
    return dict(session.get(SESSION_KEY) or {})


def _remember(import_id, filename, rows=0):
    pending = _pending()
    pending[import_id] = {"filename": filename, "user": current_user.id, "rows": rows}
    session[SESSION_KEY] = pending


def _forget(import_id, keep_file=False):
    pending = _pending()
    pending.pop(import_id, None)
    session[SESSION_KEY] = pending
    if keep_file:
        return
    try:
        os.remove(_path(import_id))
    except OSError:
        pass


def _owned(import_id):
    """(filename, bytes) of an upload this user made in this session, or None."""
    if not import_id or not _ID.match(import_id):
        return None
    entry = _pending().get(import_id)
    if not entry or entry.get("user") != current_user.id:
        return None
    try:
        with open(_path(import_id), "rb") as fh:
            return entry["filename"], fh.read()
    except OSError:
        return None


class RosterImportView(ProtectedView):
    permission = "edit_roster"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        from notifier.roster.importer import RosterFileError, preview_import

        form = UploadForm()
        if not form.validate_on_submit():
            return self.render("admin/roster_import/upload.html", form=form)
        upload = form.file.data
        filename = os.path.basename((getattr(upload, "filename", "") or "").replace("\\", "/"))
        if not upload or not filename:
            form.file.errors = [_("Choose a CSV or Excel (.xlsx) file to import.")]
            return self.render("admin/roster_import/upload.html", form=form), 400
        data = upload.read()
        if not data:
            form.file.errors = [_("The file %(name)s is empty.", name=filename)]
            return self.render("admin/roster_import/upload.html", form=form), 400
        try:
            preview = preview_import(data, filename)
        except RosterFileError as exc:
            form.file.errors = [str(exc)]
            return self.render("admin/roster_import/upload.html", form=form), 400
        _remove_stale()
        import_id = secrets.token_hex(16)
        with open(_path(import_id), "wb") as fh:
            fh.write(data)
        _remember(import_id, filename, rows=preview.total)
        return self.render(
            "admin/roster_import/preview.html",
            preview=preview,
            filename=filename,
            confirm_form=ConfirmForm(import_id=import_id),
            field_labels=DeputyView.column_labels,
        )

    @expose("/apply/", methods=("POST",))
    def apply(self):
        from notifier.roster.importer import RosterFileError, apply_import

        form = ConfirmForm()
        if not form.validate_on_submit():
            return self._expired()
        import_id = form.import_id.data
        owned = _owned(import_id)
        if owned is None:
            return self._expired()
        filename, data = owned
        rows = (_pending().get(import_id) or {}).get("rows") or 0
        if rows > current_app.config["ROSTER_IMPORT_JOB_ROWS"]:
            return self._apply_as_job(import_id, filename, rows)
        try:
            result = apply_import(data, filename, actor=current_user._get_current_object())
        except RosterFileError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index"))
        finally:
            _forget(import_id)
        return self.render("admin/roster_import/result.html", preview=result, filename=filename)

    def _apply_as_job(self, import_id, filename, rows):
        """A large file is applied by a worker: the page shows its progress, then the result. The
        request only moves the upload to the jobs folder and queues the job (well under a second),
        so no proxy or gunicorn timeout can cut a 50,000-row import in half."""
        from flask_babel import get_locale

        from notifier.jobs import service as jobs

        name = jobs.new_file_name(".upload")
        os.replace(_path(import_id), jobs.file_path(name))
        _forget(import_id, keep_file=True)
        job = jobs.create("roster.import", current_user, {"input": name, "filename": filename}, total=rows,
                          locale=get_locale())
        return redirect(url_for("jobs.show", job_id=job.id))

    @expose("/discard/", methods=("POST",))
    def discard(self):
        form = ConfirmForm()
        if form.validate_on_submit() and _owned(form.import_id.data) is not None:
            _forget(form.import_id.data)
            flash(_("The upload was discarded; nothing was imported."), "info")
        return redirect(url_for(".index"))

    def _expired(self):
        flash(_("That upload is no longer available (already imported, discarded or expired). Please upload the file again."), "error")
        return redirect(url_for(".index"))

    @expose("/template/<fmt>/")
    def template(self, fmt):
        from notifier.roster.exporter import roster_template

        if fmt not in ("xlsx", "csv"):
            abort(404)
        return download(*roster_template(fmt))
