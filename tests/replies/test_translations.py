"""Every string of the replies modules and templates has its Chinese in translations/parts/replies.po."""
import os

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ["notifier/web/reply_views.py", "notifier/api/replies.py", "notifier/replies/models.py",
           "notifier/replies/reminders.py", "notifier/replies/outgoing.py",
           "notifier/web/templates/replies/_tally.html", "notifier/web/templates/replies/inbox.html",
           "notifier/web/templates/replies/conversation.html"]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def test_every_replies_string_is_translated():
    with open(os.path.join(ROOT, "notifier/translations/parts/replies.po"), "rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh) if m.id}
    missing = []
    for source in SOURCES:
        method = "jinja2" if source.endswith(".html") else "python"
        for _line, msgid, _comments, _context in extract_from_file(method, os.path.join(ROOT, source),
                                                                   keywords=KEYWORDS):
            msgid = msgid[0] if isinstance(msgid, tuple) else msgid
            if not catalogue.get(msgid):
                missing.append((source, msgid))
    assert missing == []
