"""Message content: outbound texts as UCS-2 parts, decoding what phones send, and putting the parts
of a long reply back together.

Outbound texts always go as UCS-2 (Msg_Fmt 8), ASCII-only ones too. Every text the platform sends
carries the office's Chinese 【signature】, so an ASCII-only text hardly occurs; and Msg_Fmt 0 is
where ISMGs disagree (140 or 160 bytes, whether they map ASCII onto GSM-7, which lacks ` and turns
[ ] { } ^ ~ | \\ into two septets). One format means one count: a text costs exactly the parts
notifier/delivery/segments.py gives a UCS-2 text (70 code units alone, 67 per part when split,
filled greedily), which the tests check.

Characters outside the BMP (emoji) go as UTF-16 surrogate pairs: two units, never split across
parts, as segments.py counts them. Handsets render them; a strict UCS-2 handset shows two boxes,
which is still better than dropping the character. A lone surrogate (not a character) becomes "?".
"""
import dataclasses
import time

ASCII, UCS2, GBK = 0, 8, 15  # Msg_Fmt
SINGLE_UNITS, PART_UNITS = 70, 67  # UTF-16 code units: 140 bytes, or 134 after the 6-byte header
MAX_PARTS = 255


@dataclasses.dataclass(frozen=True)
class Part:
    """One SUBMIT's worth of a text: Msg_Content (header included) and the fields that go with it."""

    content: bytes
    total: int  # Pk_total
    number: int  # Pk_number, from 1
    udhi: int  # TP_udhi: 1 when content starts with the concatenation header
    msg_fmt: int = UCS2


def _units(ch):
    return 2 if ord(ch) > 0xFFFF else 1


def split_units(text):
    """The text in pieces as they go: one piece of up to 70 units, or pieces of up to 67. A
    character that does not fit whole into a piece starts the next one."""
    if sum(_units(ch) for ch in text) <= SINGLE_UNITS:
        return [text] if text else []
    pieces, start, used = [], 0, 0
    for i, ch in enumerate(text):
        if used + _units(ch) > PART_UNITS:
            pieces.append(text[start:i])
            start, used = i, 0
        used += _units(ch)
    pieces.append(text[start:])
    return pieces


def part_count(text):
    """How many SUBMITs a text costs on CMPP (for the compose page's count)."""
    return len(split_units(text))


def ucs2(text):
    return text.encode("utf-16-be", errors="replace")


def encode(text, ref):
    """The parts of `text` for SUBMIT; `ref` (0-255) is shared by the parts of one text and should
    differ between texts sent to the same phone close together."""
    pieces = split_units(text)
    if not pieces:
        raise ValueError("an empty text is not sent")
    if len(pieces) == 1:
        return [Part(ucs2(text), total=1, number=1, udhi=0)]
    if len(pieces) > MAX_PARTS:
        raise ValueError(f"a text of {len(pieces)} parts is too long (at most {MAX_PARTS})")
    total = len(pieces)
    return [
        Part(bytes([5, 0, 3, ref & 0xFF, total, n]) + ucs2(piece), total=total, number=n, udhi=1)
        for n, piece in enumerate(pieces, start=1)
    ]


def decode(raw, msg_fmt):
    """Text from Msg_Content bytes (without a header). Never raises: a reply is kept, with U+FFFD
    where bytes make no sense, rather than lost."""
    if msg_fmt == UCS2:
        return raw.decode("utf-16-be", errors="replace")
    if msg_fmt == ASCII:
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:  # phones and ISMGs label GBK text 0 more often than not
            pass
    # 15 (GBK), and the formats that are not text (3 card writing, 4 binary): GB18030 is a
    # superset of GBK and the likeliest reading of bytes from a Chinese handset.
    return raw.decode("gb18030", errors="replace")


@dataclasses.dataclass(frozen=True)
class Concat:
    ref: int  # 8- or 16-bit reference shared by the parts
    total: int
    number: int


def split_header(content):
    """(Concat or None, text bytes) of a Msg_Content sent with TP_udhi 1. Knows the 8-bit (00 03)
    and 16-bit (08 04) concatenation elements and skips any other; a header that does not parse is
    treated as text, so nothing is dropped."""
    if not content or content[0] + 1 > len(content):
        return None, content
    end = 1 + content[0]
    header, at, concat = content[1:end], 0, None
    while at + 2 <= len(header):
        iei, length = header[at], header[at + 1]
        data = header[at + 2 : at + 2 + length]
        if len(data) < length:
            return None, content
        if iei == 0x00 and length == 3:
            concat = Concat(data[0], data[1], data[2])
        elif iei == 0x08 and length == 4:
            concat = Concat(data[0] << 8 | data[1], data[2], data[3])
        at += 2 + length
    if concat is not None and not 1 <= concat.number <= concat.total:
        concat = None
    return concat, content[end:]


@dataclasses.dataclass
class Reassembled:
    text: str
    tokens: list  # what the caller gave with each part received (duplicates too): all to answer
    complete: bool  # False: the timeout ran out before every part came ("…" where they are missing)
    duplicate: bool = False  # a late copy of a part of a text already handed on: answer only
    firsts: list = ()  # the token of each part's first copy, in part order
    meta: object = None  # what the caller gave with the lowest-numbered part
    gid: tuple = None


@dataclasses.dataclass
class _Group:
    started: float
    parts: dict = dataclasses.field(default_factory=dict)  # number -> (payload, msg_fmt, token, meta)
    tokens: list = dataclasses.field(default_factory=list)


class Reassembler:
    """Puts concatenated parts back together, whatever their order, duplicates counted once.

    `key` says whose parts may be joined (the sender and the number written to); with Concat's
    ref and total it names one text. A text whose parts stop coming is handed on, incomplete,
    `timeout` seconds after its first part (see `expired`). Parts of a text handed on within
    the last `timeout` seconds that come again are answered and not handed on twice.
    """

    def __init__(self, timeout=60.0, clock=time.monotonic):
        self.timeout, self.clock = timeout, clock
        self._groups = {}
        self._done = {}  # group id -> when it was handed on

    def add(self, key, concat, payload, msg_fmt, token, meta=None):
        """A part: the Reassembled text when this part completes it (or is a late copy), else None."""
        gid = (key, concat.ref, concat.total)
        now = self.clock()
        if gid in self._done and now - self._done[gid] < self.timeout:
            return Reassembled("", [token], complete=True, duplicate=True, gid=gid)
        group = self._groups.setdefault(gid, _Group(started=now))
        group.tokens.append(token)
        group.parts.setdefault(concat.number, (payload, msg_fmt, token, meta))
        if len(group.parts) < concat.total:
            return None
        del self._groups[gid]
        self._done[gid] = now
        return self._result(gid, group, complete=True)

    def expired(self):
        """Texts whose missing parts did not come in time: handed on with what came."""
        now = self.clock()
        self._done = {g: t for g, t in self._done.items() if now - t < self.timeout}
        late = [g for g, group in self._groups.items() if now - group.started >= self.timeout]
        out = []
        for gid in late:
            group = self._groups.pop(gid)
            self._done[gid] = now
            out.append(self._result(gid, group, complete=False))
        return out

    def forget(self, reassembled):
        """The caller could not take a text: when its parts come again, join them again."""
        self._done.pop(reassembled.gid, None)

    def pending(self):
        return len(self._groups)

    @staticmethod
    def _result(gid, group, complete):
        numbers = sorted(group.parts)
        payloads = {n: group.parts[n][0] for n in numbers}
        formats = {n: group.parts[n][1] for n in numbers}
        text = _join(payloads, formats) if complete else _join_with_gaps(payloads, formats, gid[2])
        firsts = [group.parts[n][2] for n in numbers]
        return Reassembled(text, group.tokens, complete, firsts=firsts,
                           meta=group.parts[numbers[0]][3], gid=gid)


def _join(payloads, formats):
    """Bytes first, then text: a character split across two parts (a UTF-16 pair, a GBK pair) by a
    handset that splits blindly still decodes."""
    numbers = sorted(payloads)
    kinds = {formats[n] for n in numbers}
    if len(kinds) == 1:
        return decode(b"".join(payloads[n] for n in numbers), kinds.pop())
    return "".join(decode(payloads[n], formats[n]) for n in numbers)


def _join_with_gaps(payloads, formats, total):
    """An incomplete text: its runs of consecutive parts, with "…" where parts are missing."""
    runs, run = [], {}
    for n in range(1, total + 1):
        if n in payloads:
            run[n] = payloads[n]
        elif run or not runs:
            runs.append(run)
            run = {}
    runs.append(run)
    return "…".join(_join(r, formats) if r else "" for r in runs)
