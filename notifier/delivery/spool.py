"""A spool of JSON entries on local disk: what a webhook received while the database could not
take it, kept until it can.

One file per entry, written under tmp/, fsynced, renamed into the spool and the directory fsynced,
so an entry that `put` returned for survives a crash and a reader never sees half of one. Several
processes may drain one directory (every web worker of a host, the CLI): each entry is taken under
an exclusive flock, which dies with its holder, and is checked to be still in place once locked.
An entry that fails for a reason other than the database being away is moved to failed/ (and
logged) rather than retried for ever; `retry_failed` puts those back.
"""
import fcntl
import json
import logging
import os
import time
import uuid

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """Raised by a handler when the entry cannot be processed now (the database is away): the
    entry stays, and the pass stops."""


class Spool:
    def __init__(self, directory):
        self.directory = directory
        self.tmp = os.path.join(directory, "tmp")
        self.failed = os.path.join(directory, "failed")

    def put(self, entry):
        """Keep `entry` (JSON-able) durably; returns its name."""
        for path in (self.directory, self.tmp, self.failed):
            os.makedirs(path, mode=0o700, exist_ok=True)
        # Names sort in arrival order, and never collide across processes.
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}.json"
        staged = os.path.join(self.tmp, name)
        with open(staged, "xb") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(staged, os.path.join(self.directory, name))
        _fsync_dir(self.directory)
        return name

    def names(self):
        """Names of the entries waiting, oldest first."""
        try:
            return sorted(e.name for e in os.scandir(self.directory) if e.is_file() and e.name.endswith(".json"))
        except FileNotFoundError:
            return []

    def failed_names(self):
        try:
            return sorted(e.name for e in os.scandir(self.failed) if e.name.endswith(".json"))
        except FileNotFoundError:
            return []

    def drain(self, handle):
        """Call handle(entry) for every waiting entry, oldest first, each removed once handled.
        Returns {"done", "failed", "busy", "left"}; `left` counts what an Unavailable stopped."""
        counts = {"done": 0, "failed": 0, "busy": 0, "left": 0}
        names = self.names()
        for index, name in enumerate(names):
            path = os.path.join(self.directory, name)
            taken = _take(path)
            if taken is None:
                counts["busy"] += 1
                continue
            try:
                try:
                    entry = json.loads(taken.read().decode("utf-8"))
                    handle(entry)
                except Unavailable:
                    counts["left"] = len(names) - index
                    break
                except Exception:  # noqa: BLE001  (kept aside with its traceback in the log, not lost)
                    log.exception("spooled entry %s failed; moved to %s", name, self.failed)
                    os.makedirs(self.failed, mode=0o700, exist_ok=True)
                    os.rename(path, os.path.join(self.failed, name))
                    counts["failed"] += 1
                else:
                    os.unlink(path)
                    counts["done"] += 1
            finally:
                taken.close()  # releases the lock
        return counts

    def retry_failed(self):
        """Move the failed entries back into the spool; returns how many."""
        names = self.failed_names()
        for name in names:
            os.rename(os.path.join(self.failed, name), os.path.join(self.directory, name))
        return len(names)


def _take(path):
    """The entry's file, open and locked by us; None when it is gone or another process has it."""
    try:
        handle = open(path, "rb")  # noqa: SIM115  (the caller closes it, which releases the lock)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Another drainer may have processed and removed it between our open and our lock.
        if os.fstat(handle.fileno()).st_ino != os.stat(path).st_ino:
            raise FileNotFoundError(path)
    except (BlockingIOError, FileNotFoundError):
        handle.close()
        return None
    return handle


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
