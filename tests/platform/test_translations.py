"""Every user-visible string has its Simplified Chinese translation, and the compiled catalogue
is the one the .po file describes (English is the msgids themselves)."""
import os
import subprocess
import sys

from flask_babel import force_locale, gettext

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
