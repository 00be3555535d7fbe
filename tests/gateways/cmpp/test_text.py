"""Message content: long Chinese texts split into 67-unit parts with the 05 00 03 header and
joined again, the same count as the platform's segment counter, emoji kept whole, and replies
decoded from UCS-2, ASCII and GBK, parts in any order and twice over."""
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.delivery import segments
from notifier.gateways.cmpp import text

NOTICE = (
    "【县人大常委会】各位代表：县十八届人大常委会第二十次会议定于3月15日上午9时在县人大常委会"
    "第一会议室召开，会议听取和审议县人民政府关于2025年度国有资产管理情况的报告、县人民法院"
    "关于行政审判工作情况的报告，书面审议县人民检察院关于公益诉讼检察工作情况的报告。"
    "请各位代表准时参加。回复1确认参加，回复2请假。"
)


def _reassemble(parts, key="13800138000"):
    joiner = text.Reassembler()
    done = None
    for n, part in enumerate(parts):
        concat, payload = text.split_header(part.content)
        done = joiner.add(key, concat, payload, part.msg_fmt, token=n) or done
    return done


def test_a_long_chinese_notice_is_split_into_headed_parts_and_joined_again():
    assert len(NOTICE) > 134
    parts = text.encode(NOTICE, ref=0x2A)
    assert len(parts) == 3
    for n, part in enumerate(parts, start=1):
        assert (part.total, part.number, part.udhi, part.msg_fmt) == (3, n, 1, text.UCS2)
        assert part.content[:6] == bytes([0x05, 0x00, 0x03, 0x2A, 3, n])
        assert len(part.content) <= 140
    assert [len(p.content) - 6 for p in parts[:-1]] == [134, 134]  # 67 characters each
    assert parts[0].content[6:8] == "【".encode("utf-16-be")

    joined = _reassemble(reversed(parts))
    assert joined.text == NOTICE and joined.complete and not joined.duplicate
    assert joined.firsts == [2, 1, 0]  # the tokens in part order


def test_a_text_of_70_characters_is_one_part_without_a_header():
    (part,) = text.encode("县" * 70, ref=1)
    assert (part.total, part.number, part.udhi) == (1, 1, 0)
    assert part.content == ("县" * 70).encode("utf-16-be")
    assert len(text.encode("县" * 71, ref=1)) == 2


def test_ascii_only_texts_go_as_ucs2_too():
    (part,) = text.encode("Meeting at 9", ref=1)
    assert part.msg_fmt == text.UCS2 and part.content == "Meeting at 9".encode("utf-16-be")


def test_parts_of_one_text_share_ref_and_an_empty_text_is_refused():
    assert {p.content[3] for p in text.encode(NOTICE, ref=300)} == {300 % 256}
    with pytest.raises(ValueError):
        text.encode("", ref=1)


any_text = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400
)


@given(any_text)
def test_parts_cost_what_the_platforms_segment_counter_says_for_ucs2(body):
    body = "县" + body  # the platform's texts carry a Chinese signature: always UCS-2
    parts = text.encode(body, ref=7)
    info = segments.count_segments(body)
    assert info.encoding == segments.UCS2
    assert len(parts) == info.segments == text.part_count(body)
    assert text.split_units(body) == segments.split_segments(body)


@given(any_text)
def test_every_text_comes_back_from_its_parts(body):
    parts = text.encode(body, ref=9)
    shuffled = random.Random(len(body)).sample(parts, len(parts))
    if len(parts) == 1:
        assert text.decode(parts[0].content, text.UCS2) == body
    else:
        assert _reassemble(shuffled).text == body


def test_emoji_go_as_surrogate_pairs_and_are_never_split():
    body = "县" * 66 + "😀" + "县" * 10
    pieces = text.split_units(body)
    assert pieces[0] == "县" * 66 and pieces[1].startswith("😀")  # 66 + 2 units > 67
    parts = text.encode(body, ref=1)
    assert parts[1].content[6:10] == bytes.fromhex("d83dde00")
    assert all("\ufffd" not in text.decode(p.content[6:], text.UCS2) for p in parts)
    assert text.encode("\ud800", ref=1)[0].content == "?".encode("utf-16-be")  # a lone surrogate


# -- replies ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, msg_fmt, expected",
    [
        (bytes.fromhex("4f60597d0031"), 8, "你好1"),  # UCS-2 big-endian
        (b"1", 0, "1"),  # ASCII
        (bytes.fromhex("cad5b5bd"), 15, "收到"),  # GBK
        (bytes.fromhex("cad5b5bd"), 0, "收到"),  # GBK labelled ASCII, as handsets do
        (bytes.fromhex("cad5b5bd"), 4, "收到"),  # binary: read as GB18030 rather than dropped
    ],
)
def test_replies_are_decoded_from_each_format(raw, msg_fmt, expected):
    assert text.decode(raw, msg_fmt) == expected


def test_undecodable_bytes_are_kept_as_replacement_characters():
    assert text.decode(b"\x4f", text.UCS2) == "\ufffd"  # an odd byte out
    assert "\ufffd" in text.decode(b"\xff\xff", text.GBK)


def test_headers_with_a_16_bit_reference_and_other_elements():
    content = bytes([0x0A, 0x08, 0x04, 0x12, 0x34, 2, 1, 0x70, 0x02, 0x00, 0x00]) + b"hi"
    concat, payload = text.split_header(content)
    assert (concat.ref, concat.total, concat.number) == (0x1234, 2, 1)
    assert payload == b"hi"


@pytest.mark.parametrize(
    "content",
    [b"", bytes([9, 0, 3, 1]), bytes([3, 0, 5, 1]) + b"ab"],
)
def test_a_header_that_does_not_parse_is_read_as_text(content):
    concat, payload = text.split_header(content)
    assert concat is None and payload == content


def test_a_concatenation_element_that_makes_no_sense_leaves_a_single_text():
    assert text.split_header(bytes([5, 0, 3, 1, 2, 3]) + b"x") == (None, b"x")  # part 3 of 2


def test_a_long_gbk_reply_in_parts_with_duplicates_is_one_text():
    reply = "1代表意见：" + "建议加快乡村道路改造，" * 20
    raw = reply.encode("gbk")
    pieces = [raw[i : i + 134] for i in range(0, len(raw), 134)]
    assert len(pieces) == 4 and len(pieces[0]) % 2 == 0  # "1" is 1 byte: part 2 starts mid-pair
    joiner = text.Reassembler()
    results = []
    for token, n in enumerate([3, 1, 1, 2, 4, 3]):  # out of order, part 1 twice, part 3 late again
        concat = text.Concat(ref=5, total=4, number=n)
        results.append(joiner.add("13800138000", concat, pieces[n - 1], text.GBK, token))
    assert results[:4] == [None] * 4
    assert results[4].text == reply and results[4].complete
    assert results[4].tokens == [0, 1, 2, 3, 4] and results[4].firsts == [1, 3, 0, 4]
    assert results[5].duplicate and results[5].tokens == [5]  # after it was handed on: answer only


def test_parts_of_different_senders_are_never_joined():
    joiner = text.Reassembler()
    one = text.Concat(ref=1, total=2, number=1)
    two = text.Concat(ref=1, total=2, number=2)
    assert joiner.add("a", one, "甲".encode("utf-16-be"), 8, 1) is None
    assert joiner.add("b", two, "乙".encode("utf-16-be"), 8, 2) is None
    assert joiner.pending() == 2


def test_a_text_whose_parts_stop_coming_is_handed_on_with_a_gap():
    now = [0.0]
    joiner = text.Reassembler(timeout=60, clock=lambda: now[0])
    for n in (1, 3):
        concat = text.Concat(ref=1, total=4, number=n)
        assert joiner.add("k", concat, f"第{n}段".encode("utf-16-be"), 8, n) is None
    now[0] = 59.0
    assert joiner.expired() == []
    now[0] = 60.0
    (late,) = joiner.expired()
    assert late.text == "第1段…第3段…" and not late.complete and late.tokens == [1, 3]
    assert joiner.pending() == 0


def test_a_text_the_caller_could_not_take_is_joined_again_when_it_comes_again():
    joiner = text.Reassembler()
    parts = text.encode(NOTICE, ref=3)
    first = _feed(joiner, parts)
    assert first.text == NOTICE
    assert _feed(joiner, parts).duplicate  # handed on already
    joiner.forget(first)
    assert _feed(joiner, parts).text == NOTICE


def _feed(joiner, parts):
    out = None
    for part in parts:
        concat, payload = text.split_header(part.content)
        out = joiner.add("k", concat, payload, part.msg_fmt, part.number) or out
    return out
