"""The text a deputy receives: signature + body with placeholders filled + reply instruction.

SMS texts are in Chinese whatever the language of the page (deputies read Chinese); only the
error messages shown to staff are translated.
"""
import dataclasses
import string
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from notifier.delivery.segments import count_segments

PLACEHOLDERS = ("name", "title", "organisation", "constituency")
# What a deputy is asked to reply, with the notice's code so replies thread to it.
REPLY_INSTRUCTIONS = {
    "confirm": "回复1确认，2请假 #{code}",
    "text": "请回复意见 #{code}",
}
DEADLINE_NOTE = "（{when}前回复）"
SAMPLE_DEPUTY = {"name": "张三", "title": "代表", "organisation": "县人大常委会", "constituency": "第一选区"}


class RenderError(ValueError):
    """The body cannot be rendered (unknown placeholder, unbalanced brace); str() is translated."""


@dataclasses.dataclass
class Rendered:
    text: str
    encoding: str
    segments: int
    chars: int


def placeholders_in(body):
    """The placeholder names used in `body`; RenderError for an unknown one or a stray brace."""
    names = []
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError:
        raise RenderError(_("Braces must come in pairs, like {name}; write {{ or }} for a brace itself.")) from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise RenderError(_("Unknown placeholder {%(name)s}. Use one of: %(known)s.", name=field,
                                known=", ".join("{" + p + "}" for p in PLACEHOLDERS)))
        names.append(field)
    return names


def reply_instruction(reply_mode, code, deadline=None):
    template = REPLY_INSTRUCTIONS.get(reply_mode)
    if not template:
        return ""
    text = template.format(code=code or "??")
    if deadline is not None:
        local = deadline.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
        text += DEADLINE_NOTE.format(when=f"{local.month}月{local.day}日{local:%H:%M}")
    return text


FULL_WIDTH_STOPS = "。！？；：，、）》」』】"


def render_text(body, deputy=None, reply_mode="none", code=None, deadline=None, signature=None, checked=False):
    """The full text for one deputy (an object or dict with name/title/...; None: a sample).
    `checked=True` skips validating the body (dispatch has done it once for every deputy)."""
    if not checked:
        placeholders_in(body)
    values = _values(deputy)
    signature = current_app.config.get("SMS_SIGNATURE", "") if signature is None else signature
    text = signature + body.strip().format(**values)
    instruction = reply_instruction(reply_mode, code, deadline)
    if instruction:
        # After Chinese punctuation a space is only a wasted character; after Latin text it separates.
        text += ("" if text[-1:] in FULL_WIDTH_STOPS else " ") + instruction
    return text


def _values(deputy):
    if deputy is None:
        return dict(SAMPLE_DEPUTY)
    get = deputy.get if isinstance(deputy, dict) else lambda k: getattr(deputy, k, "")
    return {name: (get(name) or "") for name in PLACEHOLDERS}


def measure(text):
    info = count_segments(text)
    return Rendered(text=text, encoding=info.encoding, segments=info.segments, chars=info.chars)


def max_segments():
    from notifier.notices.config import conf

    return conf("NOTICE_MAX_SEGMENTS")


def excess(text, limit=None):
    """How many characters must go for `text` to fit in `limit` segments (0 when it fits)."""
    from notifier.delivery.segments import LIMITS

    limit = limit or max_segments()
    info = count_segments(text)
    single, per_part = LIMITS[info.encoding]
    return max(0, info.units - (single if limit == 1 else per_part * limit))


def too_long(rendered, limit=None):
    """What the author is told about a text over the limit: how long it is and how much to cut."""
    limit = limit or max_segments()
    return _("The text is %(segments)s segments long; the most allowed is %(limit)s. Cut %(n)s characters "
             "(the signature and the reply instruction are counted too).",
             segments=rendered.segments, limit=limit, n=excess(rendered.text, limit))


def check_length(rendered):
    """RenderError when a text is longer than NOTICE_MAX_SEGMENTS segments."""
    limit = max_segments()
    if rendered.segments > limit:
        raise RenderError(too_long(rendered, limit))


class SegmentCache:
    """count_segments for many texts of one notice, cheaply: once a text needs UCS-2 and has no
    character outside the BMP, its segments depend on its length alone (70, then 67 per segment)."""

    def __init__(self):
        self.by_text, self.by_length = {}, {}

    def __call__(self, text):
        found = self.by_text.get(text)
        if found is not None:
            return found
        bmp = not text or max(text) < "\U00010000"
        info = self.by_length.get(len(text)) if bmp else None
        if info is None:
            info = count_segments(text)
            if bmp and info.encoding == "UCS-2":
                self.by_length[len(text)] = info
        if len(self.by_text) < 1000:
            self.by_text[text] = info
        return info
