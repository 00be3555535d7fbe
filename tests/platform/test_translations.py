"""Every user-visible string has its Simplified Chinese translation, and the compiled catalogue
is the one the .po file describes (English is the msgids themselves)."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

from notifier.catalogues import ADMIN_CATALOGUES, APP_CATALOGUES, catalogue_directory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOGUE = os.path.join(ROOT, "notifier", "translations", "zh_Hans_CN", "LC_MESSAGES", "messages.po")
# A named %-placeholder with its conversion: %(name)s, %(num)d, %(rate).1f ...
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def test_catalogue_is_complete_and_compiled():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "translations.py"), "check"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _translations(catalogue):
    """(context, msgid) -> translation of every entry a compiled catalogue carries (plural
    forms as tuples: .po and .mo readers give lists or tuples)."""
    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(m.context, plain(m.id)): plain(m.string) for m in catalogue
            if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, list | tuple) else m.string)}


def _read(directory, domain, ext, locale="zh_Hans_CN"):
    with open(os.path.join(directory, locale, "LC_MESSAGES", f"{domain}.{ext}"), "rb") as fh:
        return _translations(read_po(fh, locale=locale) if ext == "po" else read_mo(fh))


def _po_and_mo(directory, domain):
    return _read(directory, domain, "po"), _read(directory, domain, "mo")


@pytest.mark.parametrize("source,domain", [(APP_CATALOGUES, "messages"), (ADMIN_CATALOGUES, "admin")])
def test_the_app_reads_a_catalogue_with_the_po_files_content(app, source, domain):
    """Whatever Babel version wrote it, the compiled catalogue says what the .po says (the
    .mo is built at start, not committed: bytes differ between Babel versions)."""
    directory = (app.config["BABEL_TRANSLATION_DIRECTORIES"] if domain == "messages"
                 else app.extensions["admin"][0].translations_path)
    po, mo = _read(source, domain, "po"), _read(directory, domain, "mo")
    assert po and mo == po


def test_a_missing_or_stale_catalogue_is_compiled_again(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(APP_CATALOGUES, source, ignore=shutil.ignore_patterns("*.mo"))
    po_path = source / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    assert catalogue_directory(str(source), "messages") == str(source)
    po, mo = _po_and_mo(str(source), "messages")
    assert mo == po

    # A translator edits the .po: the next start compiles it again.
    text = po_path.read_text(encoding="utf-8")
    po_path.write_text(text.replace('msgstr "人大短信平台"', 'msgstr "人大短信平台（试）"', 1), encoding="utf-8")
    mo_path = source / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"
    os.utime(mo_path, (1, 1))  # older than the .po
    catalogue_directory(str(source), "messages")
    po, mo = _po_and_mo(str(source), "messages")
    assert mo[(None, "Deputy SMS Platform")] == "人大短信平台（试）" and mo == po


_READ_ONLY_START = """
import json, sys
from notifier.catalogues import catalogue_directory
print(json.dumps(catalogue_directory(sys.argv[1], "messages")))
"""


@pytest.fixture
def shared_tmp():
    """A temporary directory an unprivileged user can reach (pytest's tmp_path is root's own)."""
    path = tempfile.mkdtemp(prefix="notifier-test-")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    subprocess.run(["chmod", "-R", "u+w", path], check=True)
    shutil.rmtree(path)


def test_a_read_only_package_gets_its_catalogue_from_a_cache_directory(shared_tmp):
    """An installed package the app's user cannot write (the Docker image): the catalogue is
    compiled into a cache directory and read from there."""
    tmp_path = shared_tmp
    source = tmp_path / "site-packages" / "translations"
    shutil.copytree(APP_CATALOGUES, source, ignore=shutil.ignore_patterns("*.mo"))
    for path in [source, *source.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    command = [sys.executable, "-c", _READ_ONLY_START, str(source)]
    if os.geteuid() == 0:  # root writes anywhere: start it as an unprivileged user
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "XDG_CACHE_HOME": str(cache), "HOME": str(cache)})
    assert out.returncode == 0, out.stderr
    directory = out.stdout.strip().strip('"')
    assert directory.startswith(str(cache))
    assert not list(source.rglob("*.mo"))
    assert _read(directory, "messages", "mo") == _read(str(source), "messages", "po")


def test_chinese_is_the_default_and_english_complete(app, client):
    with app.test_request_context():
        assert gettext("Deputy SMS Platform") == "人大短信平台"
        with force_locale("en"):
            assert gettext("Deputy SMS Platform") == "Deputy SMS Platform"
    page = client.get("/login").get_data(as_text=True)
    assert "人大短信平台" in page and "Log in" not in page


def _placeholders(text):
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


def test_translations_keep_the_named_placeholders():
    """A translation that drops or renames a %(name)s placeholder loses the value (or raises a
    KeyError when the string is formatted); in a plural entry every form must carry the names of
    the msgid (singular and plural)."""
    with open(CATALOGUE, "rb") as fh:
        catalogue = read_po(fh, locale="zh_Hans_CN")
    checked, wrong = 0, []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*map(_placeholders, ids))
        if not wanted and not any(map(_placeholders, strings)):
            continue
        checked += 1
        for string in strings:
            if _placeholders(string) != wanted:
                wrong.append((ids[0], string, sorted(wanted), sorted(_placeholders(string))))
    assert checked > 50, f"only {checked} entries with placeholders: the pattern is broken"
    assert wrong == [], wrong
