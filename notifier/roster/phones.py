"""Deputies' mobile numbers: parse whatever a spreadsheet or a form gives us, store E.164.

Spreadsheets are the hard part: Excel turns an 11-digit number into a float (13800138000.0,
or the text "1.38001380001E+10" in a CSV), Chinese input methods give full-width digits, and
people write "+86", "0086", spaces, dashes and brackets. A number Excel has already shortened
("1.38E+10") cannot be recovered, so it is an error rather than a guess.
"""
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from phonenumbers import NumberParseException, PhoneNumberType

# Zero-width characters and no-break spaces that copy-and-paste brings along.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00a0"), " ")
_SCIENTIFIC = re.compile(r"^[+]?(\d+)(?:\.(\d*))?[eE]\+?(\d+)$")
_DECIMAL_ZERO = re.compile(r"^(\d+)\.0*$")
_LETTERS = re.compile(r"[^\W\d_]")  # any letter, in any script
_TOO_BIG = Decimal(10) ** 17  # E.164 has at most 15 digits
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class PhoneError(ValueError):
    """A number that cannot be used to text a deputy. `code` says why, str() says it to a person."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code  # "missing" | "invalid" | "landline" | "not_mobile"


def _region(region):
    return (region or current_app.config.get("DEFAULT_REGION") or "CN").upper()


def _from_number(value):
    """An int/float/Decimal cell (openpyxl gives these for number-formatted columns) -> digits."""
    if isinstance(value, bool):
        raise PhoneError("invalid", _("This is not a phone number."))
    if isinstance(value, int):
        if value < 0:
            raise PhoneError("invalid", _("This is not a phone number."))
        return str(value)
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise PhoneError("invalid", _("This is not a phone number.")) from None
    if not number.is_finite() or number < 0 or number >= _TOO_BIG:
        raise PhoneError("invalid", _("This is not a phone number."))
    rounded = number.to_integral_value()
    if abs(number - rounded) >= Decimal("0.01"):
        raise PhoneError("invalid", _("This is not a phone number."))
    return str(int(rounded))


def _from_scientific(text):
    """'1.38001380001E+10' -> '13800138000', but refuse a number Excel has shortened."""
    match = _SCIENTIFIC.match(text)
    if not match:
        return None
    whole, fraction, _exponent = match.groups()
    value = Decimal(text.lstrip("+"))
    if value >= _TOO_BIG:
        raise PhoneError("invalid", _("This is not a phone number."))
    digits = len(str(int(value.to_integral_value())))
    written = len((whole + (fraction or "")).lstrip("0"))
    if written < digits:
        raise PhoneError(
            "invalid",
            _(
                "Excel shortened this number to %(value)s, so its last digits are lost. "
                "Format the column as text and enter the number again.",
                value=text,
            ),
        )
    return str(int(value.to_integral_value()))


def _candidates(raw):
    """The readings of a cell to try, most literal first."""
    if raw is None:
        return [""]
    if not isinstance(raw, str):
        return [_from_number(raw)]
    text = unicodedata.normalize("NFKC", raw.translate(_INVISIBLE)).strip()
    if text.startswith("'"):  # written by the exporter, or typed to keep Excel's hands off
        text = text[1:].strip()
    compact = re.sub(r"\s+", "", text)
    scientific = _from_scientific(compact)
    if scientific is not None:
        return [scientific]
    decimal_zero = _DECIMAL_ZERO.match(compact)
    if decimal_zero:  # "13800138000.0": a float that went through str(); "138.0013.8000" is not
        return [text, decimal_zero.group(1)]
    return [text]


def _parse(text, region):
    if not text:
        raise PhoneError("missing", _("The phone number is missing."))
    if _LETTERS.search(text):
        # phonenumbers would read letters as a keypad ("1-800-FLOWERS"): never right here.
        raise PhoneError("invalid", _("A phone number cannot contain letters: %(value)s", value=text))
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise PhoneError("invalid", _("This is not a phone number: %(value)s", value=text)) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("invalid", _("This is not a valid phone number: %(value)s", value=text))
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        raise PhoneError(
            "landline", _("This is a landline number and cannot receive texts: %(value)s", value=text)
        )
    if kind not in _MOBILE_TYPES:
        raise PhoneError("not_mobile", _("This is not a mobile number: %(value)s", value=text))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phone(raw, region=None):
    """Return the E.164 form ("+8613800138000") of a mobile number, or raise PhoneError."""
    region = _region(region)
    first_error = None
    for text in _candidates(raw):
        try:
            return _parse(text, region)
        except PhoneError as exc:
            first_error = first_error or exc
    raise first_error


def national_or_e164(e164, region=None):
    """The form written to exported files: national digits for home numbers ("13800138000"),
    E.164 for foreign ones. Neither starts with a formula character once the exporter has
    neutralised the "+" (importing accepts both)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == _region(region):
        return phonenumbers.national_significant_number(number)
    return e164


def mask_phone(e164):
    """'+8613800138000' -> '+86 138****8000', for lists shown to people who need not see it all."""
    try:
        number = phonenumbers.parse(e164 or "", None)
        national = phonenumbers.national_significant_number(number)
        prefix = f"+{number.country_code} "
    except NumberParseException:
        national, prefix = re.sub(r"\D", "", e164 or ""), ""
    if len(national) <= 4:
        return prefix + "*" * len(national)
    head = 3 if len(national) >= 9 else 1
    tail = 4 if len(national) >= 8 else 2
    return prefix + national[:head] + "*" * (len(national) - head - tail) + national[-tail:]
