"""Rendering: placeholders, signature, reply instruction, segments and the limit at submit."""
from datetime import UTC, datetime

import pytest

from notifier.notices import rendering
from notifier.notices.rendering import (
    RenderError,
    check_length,
    measure,
    placeholders_in,
    render_text,
)


@pytest.fixture(autouse=True)
def english(ctx, app):
    """Messages are matched in English here (Chinese is the default locale)."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        yield



class D:
    name, title, organisation, constituency = "王芳", "主任", "县医院", "城关选区"


def test_placeholders_filled_signature_and_reply_instruction(ctx):
    text = render_text("{name}{title}（{organisation}，{constituency}）：请参加会议。", D(), "confirm", "27")
    assert text == "【县人大常委会】王芳主任（县医院，城关选区）：请参加会议。回复1确认，2请假 #27"  # no space after 。


def test_no_instruction_without_reply_and_text_mode(ctx):
    assert render_text("开会", D(), "none", None) == "【县人大常委会】开会"
    assert render_text("开会", D(), "text", "31").endswith("请回复意见 #31")
    assert render_text("开会", D(), "confirm", "31").startswith("【县人大常委会】开会 回复")  # no stop: a space
    assert render_text("开会！", D(), "confirm", "31").startswith("【县人大常委会】开会！回复")


def test_deadline_in_local_time(ctx):
    deadline = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    assert render_text("开会", D(), "confirm", "12", deadline).endswith("#12（11月27日18:00前回复）")


@pytest.mark.parametrize("body", ["{nmae}代表", "{0}", "{name!r}", "{name:>10}"])
def test_unknown_placeholder_is_a_clear_error(ctx, body):
    with pytest.raises(RenderError, match="placeholder") as err:
        placeholders_in(body)
    assert "{name}" in str(err.value)  # says which ones exist


def test_stray_brace_is_an_error_and_doubled_braces_are_literal(ctx):
    with pytest.raises(RenderError, match="Braces"):
        placeholders_in("会议{")
    assert render_text("{{议程}}", D(), signature="") == "{议程}"


def test_segments_ucs2_and_limit(ctx, app):
    one = measure("【县人大常委会】" + "会" * 62)  # 70 chars: one UCS-2 segment
    assert (one.encoding, one.segments, one.chars) == ("UCS-2", 1, 70)
    assert measure("【县人大常委会】" + "会" * 63).segments == 2  # 71 chars: 67 per segment
    check_length(measure("会" * 670))  # exactly 10 segments
    with pytest.raises(RenderError, match="11 segments"):
        check_length(measure("会" * 671))
    app.config["NOTICE_MAX_SEGMENTS"] = 2
    try:
        with pytest.raises(RenderError):
            check_length(measure("会" * 135))
    finally:
        app.config.pop("NOTICE_MAX_SEGMENTS")
    assert rendering.max_segments() == 10
