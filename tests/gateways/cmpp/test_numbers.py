"""Numbers on the link: 11 digits out, E.164 in, Src_Id = access number + extension."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.gateways.cmpp import numbers


@pytest.mark.parametrize(
    "given", ["+8613800138000", "8613800138000", "008613800138000", "13800138000", "+86 138-0013-8000"]
)
def test_mobile_numbers_go_as_11_digits(given):
    assert numbers.terminal_id(given) == "13800138000"


@pytest.mark.parametrize("given", ["+14155550100", "+862012345678", "1380013800", "10086", ""])
def test_numbers_a_cmpp_link_cannot_reach_are_refused(given):
    with pytest.raises(ValueError):
        numbers.terminal_id(given)


@pytest.mark.parametrize("given", ["13800138000", "8613800138000", "+8613800138000", " 13800138000 "])
def test_senders_come_back_as_e164(given):
    assert numbers.e164(given) == "+8613800138000"


def test_a_sender_that_is_not_a_mobile_is_kept_as_given():
    assert numbers.e164("10086") == "10086"


def test_src_id_is_the_access_number_and_an_extension():
    assert numbers.src_id("1065712345") == "1065712345"
    assert numbers.src_id("1065712345", "27") == "106571234527"
    assert numbers.src_id("106571234512345", "123456") == "106571234512345123456"  # 21


@pytest.mark.parametrize(
    "access, extension",
    [("1065712345", "1234567"), ("1065712345", "2a"), ("", "1"), ("1065-1", ""),
     ("1065712345123456", "123456")],
)
def test_src_ids_a_real_ismg_refuses_are_refused_here(access, extension):
    with pytest.raises(ValueError):
        numbers.src_id(access, extension)


def test_a_dest_id_splits_back_into_access_number_and_extension():
    assert numbers.split_dest_id("106571234527", "1065712345") == ("1065712345", "27")
    assert numbers.split_dest_id("1065712345", "1065712345") == ("1065712345", "")
    assert numbers.split_dest_id("10690000", "1065712345") == ("10690000", "")


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.sampled_from(["", "86", "+86", "0086"]))
def test_any_mainland_mobile_in_any_spelling_goes_out_as_11_digits_and_comes_back_as_e164(n, prefix):
    assert numbers.terminal_id(prefix + n) == n
    assert numbers.e164(prefix + n) == "+86" + n


@given(st.from_regex(r"\d{1,15}", fullmatch=True), st.from_regex(r"\d{0,6}", fullmatch=True))
def test_an_extension_comes_back_from_the_dest_id_it_made(access, extension):
    assert numbers.split_dest_id(numbers.src_id(access, extension), access) == (access, extension)
