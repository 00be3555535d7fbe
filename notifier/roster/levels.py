"""The four levels of people's congress, as people write them in a spreadsheet cell.

"全国人大代表、省级", "县人大代表", "national; county", "市级代表" all name levels; a deputy may sit
at several. Anything not understood is an error naming the token, never a silent drop.
"""
import re
import unicodedata
from collections.abc import Iterable

from flask_babel import gettext as _

from notifier.roster.models import LEVEL_CODES, LEVEL_LABELS

# Chinese names written to exported files and the template (stable, whatever the UI language).
LEVEL_NAMES_ZH = {"national": "全国", "provincial": "省级", "municipal": "市级", "county": "县级"}

_SEPARATORS = re.compile(r"[,;/|、\s]+")  # after NFKC: ，；／｜ became , ; / |
# Longest first, stripped repeatedly: "省级人大代表" -> "省级" -> "省".
_SUFFIXES = ("人民代表大会代表", "人民代表大会", "人大代表", "代表", "人大", "级")
_CHINESE = {
    "全国": "national",
    "国家": "national",
    "省": "provincial",
    "市": "municipal",
    "县": "county",
    "区": "county",
}
_RANK = {code: rank for rank, code in enumerate(LEVEL_CODES)}


class LevelError(ValueError):
    """Some tokens are not levels. `unknown` lists them as written."""

    def __init__(self, unknown):
        self.unknown = list(unknown)
        super().__init__(
            _(
                "Unknown level: %(levels)s. Use 全国, 省, 市, 县 (or national, provincial, municipal, county).",
                levels="、".join(self.unknown),
            )
        )


def _code(token):
    word = token.lower()
    if word in _RANK:
        return word
    changed = True
    while changed and word:
        changed = False
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and word != suffix:
                word, changed = word[: -len(suffix)], True
                break
    return _CHINESE.get(word)


def _tokens(raw):
    if raw is None:
        return []
    if isinstance(raw, str | bytes | int | float) or not isinstance(raw, Iterable):
        items = [raw]
    else:
        items = list(raw)
    tokens = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        text = unicodedata.normalize("NFKC", str(item))
        tokens.extend(t for t in _SEPARATORS.split(text) if t)
    return tokens


def parse_levels(raw):
    """A cell ("全国、省级") or a list (["national", "县"]) -> unique codes, highest level first.

    Empty -> []. Raises LevelError (and nothing else) naming every token it did not understand.
    """
    try:
        tokens = _tokens(raw)
    except Exception:  # an object whose iteration or str() fails is not a level either
        raise LevelError([repr(raw)[:40]]) from None
    codes, unknown = set(), []
    for token in tokens:
        code = _code(token)
        if code is None:
            if token not in unknown:
                unknown.append(token)
        else:
            codes.add(code)
    if unknown:
        raise LevelError(unknown)
    return sorted(codes, key=_RANK.__getitem__)


def level_label(code):
    """The translated name of a level code ("county" -> "县级" in Chinese)."""
    return str(LEVEL_LABELS.get(code, code))
