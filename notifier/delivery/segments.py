"""SMS segment counting: how many parts a body costs at the gateway (Twilio bills and paces by segment).

A body is sent as GSM-7 when every character is in the GSM 03.38 default alphabet (or its extension
table), otherwise as UCS-2. Chinese text, and therefore every notice carrying the office's
【signature】, is always UCS-2.

                    one segment    per part when split
    GSM-7           160 septets    153 septets   (extension chars cost 2, an escape pair is never split)
    UCS-2           70 units       67 units      (UTF-16 code units; emoji cost 2, a surrogate pair
                                                  is never split)

Split parts are filled greedily, as handsets and Twilio do: a character that does not fit whole into
the current part starts the next one, so the last unit(s) of a part may stay unused.

Empty text is 0 segments (and `split_segments("") == []`): an empty body is not sent at all
(Twilio rejects it), so it costs nothing. Any non-empty text costs at least one segment.
"""
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet, in code order, without 0x1B (ESC, which introduces the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + code, i.e. two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")

# (one segment, per part when split), in the encoding's units.
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # GSM7 ("GSM-7") or UCS2 ("UCS-2")
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    chars: int  # code points (len of the Python str)
    per_segment: int  # 160/153 or 70/67: the limit that applied


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding_of(text: str) -> str:
    return GSM7 if is_gsm7(text) else UCS2


def char_units(ch: str, encoding: str) -> int:
    """Units one character costs: 2 for a GSM escape pair or a UTF-16 surrogate pair, else 1."""
    if encoding == GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _split(text: str, encoding: str) -> tuple[list[str], int]:
    costs = [char_units(ch, encoding) for ch in text]
    units = sum(costs)
    single, per_part = LIMITS[encoding]
    if not text:
        return [], 0
    if units <= single:
        return [text], units
    parts, start, used = [], 0, 0
    for i, cost in enumerate(costs):
        if used + cost > per_part:  # would split an escape/surrogate pair or overflow: next part
            parts.append(text[start:i])
            start, used = i, 0
        used += cost
    parts.append(text[start:])
    return parts, units


def split_segments(text: str) -> list[str]:
    """The parts as a phone receives them; "".join(parts) == text."""
    return _split(text, encoding_of(text))[0]


def count_segments(text: str) -> SegmentInfo:
    encoding = encoding_of(text)
    parts, units = _split(text, encoding)
    single, per_part = LIMITS[encoding]
    return SegmentInfo(
        encoding=encoding,
        segments=len(parts),
        units=units,
        chars=len(text),
        per_segment=single if len(parts) <= 1 else per_part,
    )
