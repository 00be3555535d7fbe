"""Every user-visible string has its Simplified Chinese translation, and the compiled catalogue
is the one the .po file describes (English is the msgids themselves)."""
import os
import re
import subprocess
import sys

from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOGUE = os.path.join(ROOT, "notifier", "translations", "zh_Hans_CN", "LC_MESSAGES", "messages.po")
# A named %-placeholder with its conversion: %(name)s, %(num)d, %(rate).1f ...
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def test_catalogue_is_complete_and_compiled():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "translations.py"), "check"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


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
