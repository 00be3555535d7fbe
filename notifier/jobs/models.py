from flask_babel import lazy_gettext as _l

from notifier.extensions import db
from notifier.timeutil import utcnow
from notifier.types import UTCDateTime

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
FINAL = (DONE, FAILED)
STATUS_LABELS = {QUEUED: _l("Waiting to start"), RUNNING: _l("Running"), DONE: _l("Done"), FAILED: _l("Failed")}


class Job(db.Model):
    """One piece of background work of a user: what it is, how far it got, what it produced."""

    __tablename__ = "jobs"
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(32), nullable=False)  # "roster.import", "roster.export"
    owner_id = db.Column(db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status = db.Column(db.String(16), nullable=False, default=QUEUED, index=True)
    stage = db.Column(db.String(16), nullable=False, default="")  # what the progress counts ("reading", "saving")
    done = db.Column(db.Integer, nullable=False, default=0)
    total = db.Column(db.Integer, nullable=False, default=0)
    params = db.Column(db.JSON, nullable=False, default=dict)  # what to do (ids, names of input files)
    locale = db.Column(db.String(16), nullable=False, default="")  # the owner's language when asked
    result = db.Column(db.JSON)  # a summary when done (the import's counts and row problems)
    file_name = db.Column(db.String(255))  # the download's name ("deputies-20261202-1230.xlsx")
    file_path = db.Column(db.String(64))  # the file's name in the jobs folder; None once removed
    error = db.Column(db.Text)  # why it failed, as the owner reads it
    attempts = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    started_at = db.Column(UTCDateTime)
    heartbeat_at = db.Column(UTCDateTime)  # the running worker's last sign of life (each progress step)
    finished_at = db.Column(UTCDateTime)

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def finished(self):
        return self.status in FINAL
