"""Phone numbers as they come from forms and spreadsheets -> E.164 mobile numbers."""
from decimal import Decimal

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.roster.phones import PhoneError, mask_phone, national_or_e164, normalise_phone

E164 = "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        " 138 0013 8000 ",
        "138-0013-8000",
        "138.0013.8000",
        "(138) 0013 8000",
        "+86 138 0013 8000",
        "+86-13800138000",
        "0086 13800138000",
        "008613800138000",
        "１３８００１３８０００",  # full-width digits from a Chinese input method
        "＋８６　１３８－００１３－８０００",  # full-width plus, ideographic space and dashes
        "\u200b13800138000\ufeff",  # zero-width characters from copy-and-paste
        "'13800138000",  # the apostrophe Excel users type to keep a number as text
        "'+8613800138000",  # the exporter's neutralised E.164
        13800138000,  # an int cell
        13800138000.0,  # a float cell from openpyxl
        Decimal("13800138000"),
        "13800138000.0",  # a float that went through str()
        "1.3800138000E+10",
        "1.38001380001E+10",  # Excel's scientific text, digits intact
        "1.3800138000e10",
    ],
)
def test_accepted_forms_normalise_to_e164(ctx, raw):
    assert normalise_phone(raw) == E164


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        (None, "missing", "missing"),
        ("", "missing", "missing"),
        ("   ", "missing", "missing"),
        ("010-12345678", "landline", "landline"),
        ("0571 8888 8888", "landline", "landline"),
        ("+86 10 1234 5678", "landline", "landline"),
        ("400-812-3123", "not_mobile", "not a mobile"),
        ("1380013800", "invalid", "not a valid"),  # one digit short
        ("138001380001", "invalid", "not a valid"),  # one digit too many
        ("12345", "invalid", "not"),
        ("abc", "invalid", "letters"),
        ("1-800-FLOWERS", "invalid", "letters"),  # phonenumbers alone would read a keypad
        ("1.38E+10", "invalid", "Excel shortened"),  # the last digits are gone: never guess
        ("1.38001E+10", "invalid", "Excel shortened"),
        ("1.3800138E+10", "invalid", "Excel shortened"),  # 13800138000 or 13800138001..9?
        (13800138000.5, "invalid", "not a phone"),
        (True, "invalid", "not a phone"),
        (-13800138000, "invalid", "not a phone"),
        (float("nan"), "invalid", "not a phone"),
    ],
)
def test_rejected_forms_say_why(ctx, raw, code, fragment):
    with force_locale("en"), pytest.raises(PhoneError) as caught:
        normalise_phone(raw)
    assert caught.value.code == code
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_region_defaults_to_config_and_can_be_given(app):
    with app.app_context():
        assert normalise_phone("+1 415 555 2671") == "+14155552671"  # foreign mobiles are fine
        app.config["DEFAULT_REGION"] = "US"
        try:
            assert normalise_phone("(415) 555-2671") == "+14155552671"
            with pytest.raises(PhoneError):
                normalise_phone("13800138000")  # not a US number
        finally:
            app.config["DEFAULT_REGION"] = "CN"
        assert normalise_phone("(415) 555-2671", region="US") == "+14155552671"


def test_mask_and_national_forms(ctx):
    assert mask_phone(E164) == "+86 138****8000"
    assert mask_phone("+14155552671").startswith("+1 415")
    assert "2671" in mask_phone("+14155552671") and "555" not in mask_phone("+14155552671")
    assert national_or_e164(E164) == "13800138000"
    assert national_or_e164("+14155552671") == "+14155552671"


# --- property-based ---------------------------------------------------------------------------

PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
            "153", "155", "156", "157", "158", "159", "180", "181", "182", "183", "185", "186",
            "187", "188", "189"]
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}


@st.composite
def written_mobiles(draw):
    """(E.164, the same number as a person or a spreadsheet might have written it)."""
    digits = draw(st.sampled_from(PREFIXES)) + draw(st.text("0123456789", min_size=8, max_size=8))
    separator = st.sampled_from(["", "", " ", "-", "\u3000", "－", ".", "  "])
    written = digits[0] + "".join(draw(separator) + d for d in digits[1:])
    written = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086 ", "(+86)", "＋86", "+86-"])) + written
    if draw(st.booleans()):
        written = "".join(FULL_WIDTH.get(c, c) for c in written)
    written = draw(st.sampled_from(["", " ", "\t"])) + written + draw(st.sampled_from(["", " "]))
    return "+86" + digits, written


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written_mobiles())
def test_any_written_form_of_a_cn_mobile_normalises_to_the_same_e164(app, case):
    expected, written = case
    with app.app_context():
        assert normalise_phone(expected) == expected
        assert normalise_phone(written) == expected
        assert normalise_phone(float(expected[3:])) == expected  # the Excel number cell
        assert normalise_phone(f"{float(expected[3:]):.10E}") == expected  # Excel's scientific text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans(),
                 st.decimals(allow_nan=True), st.text("0123456789+-() .eE", max_size=20)))
def test_normalise_phone_raises_nothing_but_phone_error(app, raw):
    with app.app_context():
        try:
            result = normalise_phone(raw)
        except PhoneError as exc:
            assert exc.code in {"missing", "invalid", "landline", "not_mobile"}
            assert str(exc)
        else:
            assert result.startswith("+") and result[1:].isdigit()
            assert normalise_phone(result) == result  # idempotent
