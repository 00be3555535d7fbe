"""Compiled translation catalogues, built from the .po files when the app starts.

The .mo files are not committed: each Babel version writes different bytes for the same
catalogue, and a binary conflicts on every merge. A catalogue missing or older than its .po is
compiled next to it, or, where the installed package is read-only, into a cache directory that
the app then reads its translations from.
"""
import glob
import hashlib
import os
import tempfile

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
APP_CATALOGUES = os.path.join(PACKAGE_DIR, "translations")  # domain "messages"
ADMIN_CATALOGUES = os.path.join(PACKAGE_DIR, "web", "translations")  # Flask-Admin's "admin"


def catalogue_directory(source, domain, cache_root=None):
    """A directory with an up-to-date `<locale>/LC_MESSAGES/<domain>.mo` for every .po in
    `source`: `source` itself when it can be written, else a cache directory."""
    try:
        compile_missing(source, source, domain)
        return source
    except OSError:
        pass
    for root in ([cache_root] if cache_root else _cache_roots()):
        target = os.path.join(root, _fingerprint(source, domain))
        try:
            compile_missing(source, target, domain)
            return target
        except OSError:
            continue
    target = tempfile.mkdtemp(prefix="notifier-catalogues-")  # private to this process
    compile_missing(source, target, domain)
    return target


def compile_missing(source, target, domain):
    """Compile each `source/<locale>/LC_MESSAGES/<domain>.po` whose .mo under `target` is
    missing or older. Raises OSError when `target` cannot be written."""
    for po_path in glob.glob(os.path.join(source, "*", "LC_MESSAGES", f"{domain}.po")):
        relative = os.path.relpath(po_path, source)
        mo_path = os.path.join(target, relative[: -len(".po")] + ".mo")
        if os.path.exists(mo_path) and os.path.getmtime(mo_path) >= os.path.getmtime(po_path):
            continue
        compile_catalogue(po_path, mo_path)


def compile_catalogue(po_path, mo_path):
    locale = os.path.basename(os.path.dirname(os.path.dirname(po_path)))
    with open(po_path, "rb") as fh:
        catalogue = read_po(fh, locale=locale)
    os.makedirs(os.path.dirname(mo_path), exist_ok=True)
    # Several processes may start at once: each writes its own file and swaps it in whole.
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(mo_path), suffix=".mo.partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalogue)
        os.chmod(partial, 0o644)
        os.replace(partial, mo_path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


def _fingerprint(source, domain):
    """Names a cache directory by the catalogues' content: an upgrade whose .po files carry
    older timestamps than the cached .mo still gets its own."""
    digest = hashlib.sha256(source.encode())
    for po_path in sorted(glob.glob(os.path.join(source, "*", "LC_MESSAGES", f"{domain}.po"))):
        with open(po_path, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:16]


def _cache_roots():
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [os.path.join(home_cache, "notifier", "catalogues")]


def compile_packaged():
    """Compile every catalogue in place (an image build runs this, so its read-only package
    ships them compiled)."""
    compile_missing(APP_CATALOGUES, APP_CATALOGUES, "messages")
    compile_missing(ADMIN_CATALOGUES, ADMIN_CATALOGUES, "admin")
