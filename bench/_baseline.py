"""Old path against new in the same run: the baseline is the code of a git revision (default
`main`), unpacked once into /tmp; each measurement runs in a child process (its peak RSS is its
own), with that tree or this one first on sys.path, and prints one JSON line."""
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def baseline_tree(rev):
    """The code of `rev` unpacked under /tmp (once per commit); returns its path."""
    commit = subprocess.check_output(["git", "rev-parse", "--short", rev], cwd=ROOT, text=True).strip()
    path = f"/tmp/notifier-baseline-{commit}"
    if not os.path.exists(os.path.join(path, "notifier")):
        os.makedirs(path, exist_ok=True)
        archive = subprocess.Popen(["git", "archive", commit], cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", path], stdin=archive.stdout, check=True)
        archive.wait()
    return path


def run_child(script, root, args, env=None):
    """Run `script --child ... --root root` and return the JSON it printed last."""
    out = subprocess.run([sys.executable, script, "--child", *args, "--root", root], cwd=root,
                         env={**os.environ, **(env or {}), "PYTHONPATH": root}, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"child {args} in {root} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def enter(root):
    """In a child: import the platform from `root` (the baseline tree or this checkout)."""
    sys.path.insert(0, root)
    for name in [m for m in sys.modules if m == "notifier" or m.startswith(("notifier.", "workers"))]:
        del sys.modules[name]


def _status_mb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak():
    """Start the high-water mark again from the current RSS (Linux: clear_refs 5), so importing
    the app before the measurement does not hide what the measured work needs."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_mb():
    return _status_mb("VmHWM")


class Measure:
    """with Measure() as m: ...; m.report(extra) -> seconds, peak RSS and its growth over the start."""

    def __enter__(self):
        reset_peak()
        self.start_mb, self.started = _status_mb("VmRSS"), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        self.peak = peak_mb()

    def report(self, **extra):
        print(json.dumps({"seconds": self.seconds, "peak_mb": self.peak, "growth_mb": self.peak - self.start_mb,
                          **extra}))
