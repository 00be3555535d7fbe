"""What a reply means: normalise the text, then read it as confirm, decline, text, opt_out,
opt_in or help, saying which rule decided (shown in the inbox). Never raises, whatever arrives
(emoji, control characters, 1,600 characters).

Rules, in order (words from words.reply_words()):
0. a text opening with 建议 or JY is a deputy's suggestion (代表建议);
1. the whole text (normalised, the reply code left out) is an opt-out, opt-in or help keyword;
   but a word that is both an opt-out keyword and a decline word ("取消") is read by what it
   answers: declining a notice that asks to confirm or decline, the answer to one that asks for
   a written reply, and an opt-out only when it answers no notice;
2. the whole text is a confirm or decline word;
3. it starts with "1" or "2" not followed by another digit ("1 收到", "2，出差在外");
4. it starts with a decline word, or a confirm word (two characters or more) with no negation
   after it ("确认参加，谢谢" is confirm, "参加不了" is decline, "参加时间能改吗" stays text... unless
   it starts with a confirm word and has no negation: staff read every text anyway); a decline
   word that is also an opt-out keyword counts here only in answer to a confirm/decline notice;
   a text that starts with an acknowledgement ("收到，准时参加") is read by what follows it;
   an acknowledgement alone ("收到", "好的") counts as received, never as confirmed;
   签到 alone is a sign-in (notifier.duty.meetings decides to which meeting);
5. anything else is free text, kept whole.
"""
import re
import unicodedata
from dataclasses import dataclass

from notifier.replies.models import (
    ACK,
    CONFIRM,
    DECLINE,
    HELP,
    OPT_IN,
    OPT_OUT,
    SIGN_IN,
    SUGGESTION,
    TEXT,
)
from notifier.replies.words import reply_words

CODE = re.compile(r"#\s*(\d{1,4})")
_SEPARATORS = re.compile(r"[\s\W_]+", re.UNICODE)
_LEADING_DIGIT = re.compile(r"^([12])(?!\d)")
# 建议 or JY (代表建议) opening a text, then the suggestion itself.
_SUGGESTION = re.compile(r"^\s*(建议|jy)(?![a-z])[\s\W_]*(.*)$", re.IGNORECASE | re.DOTALL)
# What the notice a reply answers asks for (Notice.reply_mode): "confirm" (1 or 2) or "text".
EXPECTS_ANSWER = ("confirm", "text")


@dataclass(frozen=True)
class Reading:
    """A reply's kind, the rule that gave it (a REASONS code, see replies.models) and the word
    that decided, if one did."""

    kind: str
    reason: str
    word: str | None = None


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


def classify(text, words=None, expects=None):
    """One of confirm, decline, ack, text, opt_out, opt_in, help, sign_in, suggestion."""
    return read_reply(text, words, expects).kind


def read_reply(text, words=None, expects=None):
    """The Reading of a reply; `expects` is what the notice it answers asks for (None: no notice)."""
    words = words or reply_words()
    without_code = CODE.sub(" ", unicodedata.normalize("NFKC", str(text or "")))
    plain = normalise(without_code)
    compact = plain.replace(" ", "")
    if not compact:
        return Reading(HELP, "question") if "?" in without_code else Reading(TEXT, "empty")
    suggestion = _SUGGESTION.match(without_code)
    if suggestion:
        word = suggestion.group(1)
        return Reading(SUGGESTION, "suggestion" if suggestion.group(2).strip() else "suggestion_empty", word)
    lists = {kind: _compact(words.get(kind, ())) for kind in (OPT_OUT, OPT_IN, HELP, CONFIRM, DECLINE, ACK, SIGN_IN)}
    ambiguous = lists[OPT_OUT] & lists[DECLINE]  # "取消": unsubscribe, or "I won't come"
    if compact in ambiguous and expects in EXPECTS_ANSWER:
        if expects == "confirm":
            return Reading(DECLINE, "declined_in_context", compact)
        return Reading(TEXT, "answer_in_context", compact)
    for kind in (OPT_OUT, OPT_IN, HELP, CONFIRM, DECLINE):
        if compact in lists[kind]:
            return Reading(kind, "keyword" if kind in (OPT_OUT, OPT_IN, HELP) else "word", compact)
    if compact in lists[ACK]:
        return Reading(ACK, "acknowledged", compact)
    if compact in lists[SIGN_IN]:
        return Reading(SIGN_IN, "sign_in", compact)
    if set(without_code.strip()) <= {"?", "？"}:
        return Reading(HELP, "question")
    digit = _LEADING_DIGIT.match(compact)
    if digit:
        return Reading(CONFIRM if digit.group(1) == "1" else DECLINE, "digit", digit.group(1))
    first = plain.split(" ", 1)[0]
    ack = _starting_word(first, compact, lists[ACK])
    if ack:
        # "收到，准时参加" is read by what follows the acknowledgement; "收到，谢谢" stays received.
        rest = read_reply(plain[len(first):] if first == ack else compact[len(ack):], words, expects)
        return rest if rest.kind in (CONFIRM, DECLINE) else Reading(ACK, "acknowledged", ack)
    negations = _compact(words.get("negations", ()))
    declines = lists[DECLINE] if expects == "confirm" else lists[DECLINE] - ambiguous
    decline = _starting_word(first, compact, declines)
    if decline:
        return Reading(DECLINE, "starts_with", decline)
    confirm = _starting_word(first, compact, lists[CONFIRM])
    if confirm:
        negation = next((n for n in sorted(negations, key=len, reverse=True)
                         if n and n in (plain if n.isascii() else compact)), None)
        if negation is None:
            return Reading(CONFIRM, "starts_with", confirm)
        return Reading(TEXT, "negated", negation)
    return Reading(TEXT, "free_text")


def leave_reason(text):
    """The reason a deputy gives with a leave ("2 出差在外" -> "出差在外", "请假：住院" -> "住院"), or ""."""
    rest = CODE.sub(" ", unicodedata.normalize("NFKC", str(text or ""))).strip()
    without_digit = _LEADING_DIGIT.sub("", rest, count=1)
    if without_digit != rest:
        rest = without_digit
    else:
        for word in sorted(_compact(reply_words().get(DECLINE, ())), key=len, reverse=True):
            if len(word) >= 2 and rest.startswith(word):
                rest = rest[len(word):]
                break
    return rest.strip(" \t\n,，.。:：;；、!！-—").strip()[:200]


def suggestion_text(text):
    """The suggestion a 建议/JY text carries, without its keyword."""
    match = _SUGGESTION.match(str(text or ""))
    return match.group(2).strip() if match else str(text or "").strip()


def _starting_word(first, compact, candidates):
    """The word of `candidates` the text starts with: its whole first word, or (for Chinese words
    of two characters or more) the start of the text. The longest wins."""
    for word in sorted(candidates, key=len, reverse=True):
        if word == first or (len(word) >= 2 and not word.isascii() and compact.startswith(word)):
            return word
    return None
