"""Every message the API can send has its Chinese in notifier/translations/parts/api.po."""
import os
import re

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
# The modules of this part (other API modules, e.g. notices.py, carry their own part files).
MODULES = ("__init__", "auth", "common", "deputies", "deputy_schemas", "errors")
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None}


def test_every_api_message_is_translated():
    wanted = set()
    for name in MODULES:
        path = os.path.join(ROOT, "notifier", "api", f"{name}.py")
        wanted |= {message for _line, message, _c, _ctx in extract_from_file("python", path, keywords=KEYWORDS)}
    with open(os.path.join(ROOT, "notifier", "translations", "parts", "api.po"), "rb") as fh:
        catalogue = read_po(fh, locale="zh_Hans_CN")
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    assert wanted, "no messages found: the extraction is broken"
    assert wanted <= translated, sorted(wanted - translated)
    for message in catalogue:
        if message.id and "%(" in message.id:
            assert sorted(_names(message.id)) == sorted(_names(message.string)), message.id


def _names(text):
    return re.findall(r"%\((\w+)\)s", text)
