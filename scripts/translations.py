"""Keep the translation catalogues in step with the code.

    python scripts/translations.py update   # extract strings, merge into zh_Hans_CN, compile .mo
    python scripts/translations.py check    # exit 1 if a string lacks its Chinese translation

Message ids are English; the zh_Hans_CN catalogue must translate every one of them (English is
then complete by construction). `update` adds new strings to zh_Hans_CN/LC_MESSAGES/messages.po
untranslated; translate them there and run `update` again to recompile messages.mo. The .mo
files are not committed: the app compiles a missing or stale one when it starts
(notifier/catalogues.py).
"""
import os
import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "notifier", "translations")
LOCALES = ("zh_Hans_CN",)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}


def extract():
    with open(os.path.join(ROOT, "babel.cfg")) as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    template = Catalog(project="notifier", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def catalogue_path(locale, ext="po"):
    return os.path.join(TRANSLATIONS, locale, "LC_MESSAGES", f"messages.{ext}")


def load(path, locale):
    if not os.path.exists(path):
        return Catalog(locale=locale, charset="utf-8")
    with open(path, "rb") as fh:
        return read_po(fh, locale=locale)


def _translated(string):
    return all(string) if isinstance(string, tuple) else bool(string)


def untranslated(catalog, template):
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found is not None else None
        if found is None or found.fuzzy or not _translated(strings):
            missing.append(message.id)
    return missing


def update():
    template = extract()
    for locale in LOCALES:
        catalog = load(catalogue_path(locale), locale)
        catalog.update(template, no_fuzzy_matching=True)
        os.makedirs(os.path.dirname(catalogue_path(locale)), exist_ok=True)
        with open(catalogue_path(locale), "wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, ignore_obsolete=True)
        with open(catalogue_path(locale, "mo"), "wb") as fh:
            write_mo(fh, catalog)
        missing = untranslated(catalog, template)
        print(f"{locale}: {len(template)} strings, {len(missing)} untranslated")
        for msgid in missing:
            print(f"  missing: {msgid!r}")


def check():
    template = extract()
    status = 0
    for locale in LOCALES:
        catalog = load(catalogue_path(locale), locale)
        missing = untranslated(catalog, template)
        if missing:
            status = 1
        print(f"{locale}: {len(missing)} untranslated")
        for msgid in missing:
            print(f"  missing: {msgid!r}")
    return status


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    sys.exit(update() if command == "update" else check())
