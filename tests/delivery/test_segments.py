"""Segment counting: hand-checked boundaries, then properties over arbitrary text (hypothesis)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.delivery.segments import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    SegmentInfo,
    char_units,
    count_segments,
    split_segments,
)

SIGNATURE = "【某县人大常委会】"  # 9 characters, none of them GSM-7
EMOJI = "😀"  # U+1F600, outside the BMP: a surrogate pair in UTF-16


def units(part, encoding):
    return sum(char_units(ch, encoding) for ch in part)


# --- hand-checked cases --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, encoding, segments, n_units, per_segment",
    [
        ("a" * 160, GSM7, 1, 160, 160),
        ("a" * 161, GSM7, 2, 161, 153),
        ("a" * 306, GSM7, 2, 306, 153),  # 153 * 2 exactly
        ("a" * 307, GSM7, 3, 307, 153),
        ("中" * 70, UCS2, 1, 70, 70),
        ("中" * 71, UCS2, 2, 71, 67),
        ("中" * 134, UCS2, 2, 134, 67),  # 67 * 2 exactly
        ("中" * 135, UCS2, 3, 135, 67),
        ("a" * 69 + "中", UCS2, 1, 70, 70),  # one Chinese char turns the whole text UCS-2
        ("a" * 70 + "中", UCS2, 2, 71, 67),
        ("Ça coûte 5€", UCS2, 1, 11, 70),  # û is not GSM-7 (Ç and € are)
        ("Ça va, 5€ {ok}", GSM7, 1, 17, 160),  # €, { and } cost two septets each
    ],
)
def test_boundaries(text, encoding, segments, n_units, per_segment):
    info = count_segments(text)
    assert info == SegmentInfo(encoding, segments, n_units, len(text), per_segment)
    assert len(split_segments(text)) == segments


def test_part_sizes_gsm_and_chinese():
    assert [len(p) for p in split_segments("a" * 161)] == [153, 8]
    assert [len(p) for p in split_segments("a" * 307)] == [153, 153, 1]
    assert [len(p) for p in split_segments("中" * 135)] == [67, 67, 1]


def test_empty_text_is_zero_segments():
    assert count_segments("") == SegmentInfo(GSM7, 0, 0, 0, 160)
    assert split_segments("") == []


def test_escape_chars_count_two_septets():
    # 160 characters but 161 septets: no longer fits one segment.
    assert count_segments("a" * 159 + "€").segments == 2
    assert count_segments("a" * 158 + "€") == SegmentInfo(GSM7, 1, 160, 159, 160)
    assert count_segments("a" * 80 + "^" * 40).units == 160


def test_escape_pair_is_never_split():
    # 152 septets + € (2) would be 154 > 153: the € starts part two, septet 153 stays empty.
    parts = split_segments("a" * 152 + "€" + "b" * 10)
    assert parts == ["a" * 152, "€" + "b" * 10]
    # 151 + 2 = 153 fits exactly.
    assert split_segments("a" * 151 + "€" + "b" * 10) == ["a" * 151 + "€", "b" * 10]
    # 153 euro signs = 306 septets, which would fill two parts exactly, but each part holds only
    # 76 of them (152 septets), so it takes three.
    info = count_segments("€" * 153)
    assert (info.encoding, info.units, info.segments) == (GSM7, 306, 3)
    assert [len(p) for p in split_segments("€" * 153)] == [76, 76, 1]


def test_surrogate_pair_is_never_split():
    # 66 units + emoji (2) would straddle unit 67: the emoji is pushed to part two.
    text = "中" * 66 + EMOJI + "中" * 10
    info = count_segments(text)
    assert (info.encoding, info.units, info.chars, info.segments) == (UCS2, 78, 77, 2)
    assert split_segments(text) == ["中" * 66, EMOJI + "中" * 10]
    # 65 + 2 = 67 fits exactly.
    assert split_segments("中" * 65 + EMOJI + "中" * 10) == ["中" * 65 + EMOJI, "中" * 10]


def test_emoji_count_two_units():
    assert count_segments(EMOJI * 35) == SegmentInfo(UCS2, 1, 70, 35, 70)
    assert count_segments(EMOJI * 36) == SegmentInfo(UCS2, 2, 72, 36, 67)
    # 134 units would fill two parts exactly, but a part holds 33 emoji (66 units).
    assert count_segments(EMOJI * 67).segments == 3
    assert count_segments("a" * 10 + EMOJI).encoding == UCS2


def test_chinese_notice_with_signature():
    body = "请各位代表于3月5日上午9时到县人大常委会三楼会议室参加代表座谈会，回复1确认，2请假。"
    text = SIGNATURE + body  # 9 + 44 characters, counted by hand
    assert count_segments(text) == SegmentInfo(UCS2, 1, 53, 53, 70)
    assert count_segments(SIGNATURE + "中" * 61).segments == 1  # 70
    assert count_segments(SIGNATURE + "中" * 62) == SegmentInfo(UCS2, 2, 71, 71, 67)
    # The signature alone makes an ASCII body UCS-2.
    assert count_segments(SIGNATURE + "Meeting at 9").encoding == UCS2
    # Signature at the end, split across the part boundary, still round-trips.
    text = "中" * 62 + SIGNATURE  # 71 units: 67 + 4
    assert split_segments(text) == ["中" * 62 + "【某县人大", "常委会】"]


# --- properties ----------------------------------------------------------------------------

GSM_ALPHABET = sorted(GSM7_BASIC | GSM7_EXTENSION)
gsm_text = st.text(alphabet=GSM_ALPHABET, max_size=500)
non_gsm_char = st.characters(blacklist_categories=("Cs",)).filter(
    lambda ch: ch not in GSM7_BASIC and ch not in GSM7_EXTENSION
)
# Mix the interesting kinds so boundaries are actually hit: ASCII, escapes, Chinese, emoji.
mixed_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(GSM_ALPHABET),
        st.sampled_from("^{}\\[]~|€\f"),
        st.sampled_from("中国人大代表会议【】，。"),
        st.sampled_from([EMOJI, "👍", "𠀀"]),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=400,
)
any_text = st.one_of(gsm_text, mixed_text, st.text(max_size=300))


@settings(max_examples=300)
@given(any_text)
def test_parts_round_trip_and_fit(text):
    info = count_segments(text)
    parts = split_segments(text)
    assert info.segments == len(parts)
    assert "".join(parts) == text
    assert info.chars == len(text)
    assert info.units == units(text, info.encoding)
    assert all(part for part in parts)
    for part in parts:
        assert units(part, info.encoding) <= info.per_segment
    if info.encoding == UCS2:
        assert info.units == len(text.encode("utf-16-le")) // 2
    # Greedy filling: a part ends only when the next character does not fit whole.
    for part, following in zip(parts, parts[1:], strict=False):
        assert units(part, info.encoding) + char_units(following[0], info.encoding) > info.per_segment


@given(gsm_text)
def test_gsm_text_is_never_ucs2(text):
    assert count_segments(text).encoding == GSM7


@given(gsm_text, non_gsm_char, st.integers(min_value=0))
def test_any_non_gsm_char_forces_ucs2(text, ch, at):
    at = at % (len(text) + 1)
    assert count_segments(text[:at] + ch + text[at:]).encoding == UCS2


@settings(max_examples=100)
@given(any_text)
def test_segments_monotone_as_text_grows(text):
    counts = [count_segments(text[:i]).segments for i in range(len(text) + 1)]
    assert counts == sorted(counts)
