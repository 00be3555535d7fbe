"""What a reply means: normalise the text, then classify it as confirm, decline, text, opt_out,
opt_in or help. Never raises, whatever arrives (emoji, control characters, 1,600 characters).

Rules, in order (words from words.reply_words()):
1. the whole text (normalised, the reply code left out) is an opt-out, opt-in or help keyword;
2. the whole text is a confirm or decline word;
3. it starts with "1" or "2" not followed by another digit ("1 收到", "2，出差在外");
4. it starts with a decline word, or a confirm word (two characters or more) with no negation
   after it ("确认参加，谢谢" is confirm, "参加不了" is decline, "参加时间能改吗" stays text... unless
   it starts with a confirm word and has no negation: staff read every text anyway);
5. anything else is free text, kept whole.
"""
import re
import unicodedata

from notifier.replies.models import CONFIRM, DECLINE, HELP, OPT_IN, OPT_OUT, TEXT
from notifier.replies.words import reply_words

CODE = re.compile(r"#\s*(\d{1,4})")
_SEPARATORS = re.compile(r"[\s\W_]+", re.UNICODE)
_LEADING_DIGIT = re.compile(r"^([12])(?!\d)")


def normalise(text):
    """NFKC (full-width digits and letters become ASCII), case-folded, zero-width characters
    removed, runs of spaces and punctuation made one space, trimmed."""
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cs", "Co"))
    return _SEPARATORS.sub(" ", text).strip()


def find_code(text):
    """The reply code written in the text ("#27", "＃ 27"), or None."""
    match = CODE.search(unicodedata.normalize("NFKC", str(text or "")))
    return match.group(1) if match else None


def _compact(words):
    return {normalise(w).replace(" ", "") for w in words}


def classify(text, words=None):
    """One of confirm, decline, text, opt_out, opt_in, help."""
    words = words or reply_words()
    without_code = CODE.sub(" ", unicodedata.normalize("NFKC", str(text or "")))
    plain = normalise(without_code)
    compact = plain.replace(" ", "")
    if not compact:
        return HELP if "?" in without_code else TEXT
    for kind in (OPT_OUT, OPT_IN, HELP, CONFIRM, DECLINE):
        if compact in _compact(words.get(kind, ())):
            return kind
    if compact in _compact(words.get("help", ())) or (set(without_code.strip()) <= {"?", "？"}):
        return HELP
    digit = _LEADING_DIGIT.match(compact)
    if digit:
        return CONFIRM if digit.group(1) == "1" else DECLINE
    first = plain.split(" ", 1)[0]
    negations = _compact(words.get("negations", ()))
    declines = sorted(_compact(words.get(DECLINE, ())), key=len, reverse=True)
    confirms = sorted(_compact(words.get(CONFIRM, ())), key=len, reverse=True)
    if first in declines or any(len(w) >= 2 and compact.startswith(w) and not w.isascii() for w in declines):
        return DECLINE
    negated = any(n and n in (plain if n.isascii() else compact) for n in negations if n)
    if not negated and (first in confirms or any(len(w) >= 2 and compact.startswith(w) and not w.isascii()
                                                 for w in confirms)):
        return CONFIRM
    return TEXT
