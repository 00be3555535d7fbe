"""Numbers on a CMPP link: mobile numbers go out as 11 digits and come back as 11 digits or with
86 in front; the SP's Src_Id is its access number followed by an optional extension, and a
deputy's reply comes to that same number (Dest_Id), which is how it is threaded to a notice."""
import re

MOBILE = re.compile(r"1\d{10}")
# What ISMGs and handsets put before the 11 digits of a mainland number.
CN_PREFIXES = ("+86", "0086", "86")
ACCESS_NUMBER = re.compile(r"\d{1,20}")
EXTENSION = re.compile(r"\d{1,6}")
SRC_ID_SIZE = 21


def _national(number):
    digits = number.strip().replace(" ", "").replace("-", "")
    for prefix in CN_PREFIXES:
        if digits.startswith(prefix) and MOBILE.fullmatch(digits[len(prefix) :]):
            return digits[len(prefix) :]
    return digits


def terminal_id(number):
    """Dest_terminal_Id for a mainland mobile number ("+8613800138000" -> "13800138000");
    ValueError for anything else (a CMPP link reaches mainland mobiles only)."""
    national = _national(number)
    if not MOBILE.fullmatch(national):
        raise ValueError(f"not a mainland China mobile number: {number!r}")
    return national


def e164(src_terminal_id):
    """A sender as E.164: "13800138000", "8613800138000" or "+8613800138000" -> "+8613800138000".
    Anything that is not a mainland mobile (a service number, say) comes back as it was given,
    stripped: a reply is never dropped for the shape of its sender."""
    national = _national(src_terminal_id)
    if MOBILE.fullmatch(national):
        return "+86" + national
    return src_terminal_id.strip()


def src_id(access_number, extension=""):
    """Src_Id = access number + extension (1-6 digits, or none), at most 21 characters."""
    if not ACCESS_NUMBER.fullmatch(access_number or ""):
        raise ValueError(f"the access number is digits only: {access_number!r}")
    if extension and not EXTENSION.fullmatch(extension):
        raise ValueError(f"an extension is 1 to 6 digits: {extension!r}")
    value = access_number + (extension or "")
    if len(value) > SRC_ID_SIZE:
        raise ValueError(f"Src_Id {value} is longer than {SRC_ID_SIZE} characters")
    return value


def split_dest_id(dest_id, access_number):
    """(access number, extension) of the number a reply was written to. The extension is ""
    when the reply came to the bare access number; when Dest_Id is not under our access number
    at all, it comes back whole with no extension (the caller falls back to other threading)."""
    dest_id = dest_id.strip()
    if access_number and dest_id.startswith(access_number):
        return access_number, dest_id[len(access_number) :]
    return dest_id, ""
