"""Gateway error codes (Twilio's, China Mobile's CMPP report and submit codes) in plain language (Chinese through the catalogue), and which are worth retrying.

Codes from https://www.twilio.com/docs/api/errors. `transient` means a later attempt may well
succeed (the phone was off, the carrier or Twilio was busy); the others need a person to act.
"""
import dataclasses
import re

from flask_babel import lazy_gettext as _l


@dataclasses.dataclass(frozen=True)
class ErrorInfo:
    code: str
    title: object  # lazy strings: shown in the reader's language
    advice: object
    transient: bool
    ours: bool = False  # the platform's own settings were wrong: worth sending again once fixed


def _e(code, title, advice, transient=False, ours=False):
    return ErrorInfo(str(code), title, advice, transient, ours)


CODES = {e.code: e for e in (
    _e(20003, _l("Authentication failed"), _l("The gateway account or token is wrong; an administrator must fix "
                                              "the gateway settings."), ours=True),
    _e(20404, _l("Gateway account or address not found"), _l("The gateway account or its address is wrong; an "
                                                             "administrator must fix the gateway settings."),
       ours=True),
    _e(21212, _l("Invalid sender number"), _l("The sender number in the gateway settings is not valid; an "
                                              "administrator must fix it."), ours=True),
    _e(21606, _l("Sender number not usable"), _l("The sender number does not belong to the gateway account or cannot "
                                                 "send texts; an administrator must fix the gateway settings."),
       ours=True),
    _e(20429, _l("Too many requests"), _l("The gateway asked us to slow down; sending again later usually works."),
       True),
    _e(21211, _l("Invalid phone number"), _l("The number is not a valid phone number; correct it in the roster.")),
    _e(21408, _l("Region not enabled"), _l("The gateway account may not send to this country or region; an "
                                           "administrator must enable it.")),
    _e(21610, _l("Recipient unsubscribed"), _l("The deputy replied STOP (退订); nothing is sent until they opt in "
                                               "again.")),
    _e(21612, _l("Number cannot be reached from this sender"), _l("The gateway cannot route from our number to "
                                                                  "this one; check the sender settings.")),
    _e(21614, _l("Not a mobile number"), _l("The number is a landline or not a mobile number; ask the deputy for "
                                            "a mobile number.")),
    _e(21617, _l("Text too long"), _l("The text exceeds 1,600 characters; shorten the notice.")),
    _e(30001, _l("Queue overflow"), _l("Too many texts were waiting at the gateway; sending again later usually "
                                       "works."), True),
    _e(30002, _l("Account suspended"), _l("The gateway account is suspended; an administrator must contact the "
                                          "provider.")),
    _e(30003, _l("Phone unreachable"), _l("The phone was switched off or out of coverage; sending again later "
                                          "usually works."), True),
    _e(30004, _l("Message blocked"), _l("The recipient or their carrier blocks texts from this sender.")),
    _e(30005, _l("Unknown number"), _l("The carrier says the number does not exist or is no longer in service; "
                                       "check the roster.")),
    _e(30006, _l("Landline or unreachable carrier"), _l("The number is a landline or its carrier cannot receive "
                                                        "texts.")),
    _e(30007, _l("Filtered by the carrier"), _l("The carrier filtered the text as spam or for its content; review "
                                                "the wording.")),
    _e(30008, _l("Unknown delivery error"), _l("The carrier gave no reason; sending again later often works."),
       True),
    _e(30009, _l("Missing segment"), _l("A part of a long text was lost on the way; sending again usually "
                                        "works."), True),
    _e(30032, _l("Sender number not verified"), _l("The toll-free sender number is not verified; an administrator "
                                                   "must complete the verification.")),
)}
# China Mobile's status reports (CMPP_DELIVER Stat) and SUBMIT_RESP results (stored as cmpp:N).
CODES.update({e.code: e for e in (
    _e("UNDELIV", _l("Not delivered by the carrier"), _l("The phone was off, out of service or the number is "
                                                        "suspended; sending again later often works."), True),
    _e("EXPIRED", _l("Expired before delivery"), _l("The phone stayed off or out of coverage for the text's whole "
                                                    "validity; sending again later usually works."), True),
    _e("DELETED", _l("Deleted by the carrier"), _l("The carrier's message centre deleted the text before it was "
                                                   "delivered; sending again later usually works."), True),
    _e("REJECTD", _l("Rejected by the carrier"), _l("The carrier refused the text: the number may be on a block "
                                                    "list, or the wording or signature is not allowed.")),
    _e("UNKNOWN", _l("Delivery status unknown"), _l("The carrier could not say what became of the text; sending "
                                                    "again later often works."), True),
    _e("cmpp:1", _l("Malformed request"), _l("The ISMG could not read the text we sent; report it to the "
                                             "platform's maintainers."), ours=True),
    _e("cmpp:5", _l("Wrong fee code"), _l("The ISMG refused the fee settings; an administrator must check the "
                                          "CMPP account's fee fields with the carrier."), ours=True),
    _e("cmpp:6", _l("Text too long for the ISMG"), _l("A part of the text exceeded what the ISMG takes; shorten "
                                                     "the notice.")),
    _e("cmpp:7", _l("Wrong service code"), _l("The ISMG refused the service code; an administrator must check "
                                              "CMPP_SERVICE_ID with the carrier."), ours=True),
)})
# Aliyun SMS (Dysmsapi) answers and receipts.
CODES.update({e.code: e for e in (
    _e("isv.BUSINESS_LIMIT_CONTROL", _l("Aliyun's limit for this number reached"),
       _l("Aliyun allows only so many texts a minute, an hour and a day to one number under one signature (about "
          "50 notifications a day): the text waits until the limit lifts and is then sent; it is not a failure."),
       transient=True),
    _e("isv.MOBILE_NUMBER_ILLEGAL", _l("Not a valid mobile number"),
       _l("Aliyun refused the number; correct the deputy's number on the roster.")),
    _e("isv.SMS_SIGNATURE_ILLEGAL", _l("Signature not approved at Aliyun"),
       _l("ALIYUN_SMS_SIGN_NAME is not a signature approved for this account; an administrator must fix it."),
       ours=True),
    _e("isv.SMS_TEMPLATE_ILLEGAL", _l("Template not approved at Aliyun"),
       _l("The template code is not approved for this account; correct the template on the SMS templates page."),
       ours=True),
    _e("isv.AMOUNT_NOT_ENOUGH", _l("Aliyun account balance used up"),
       _l("Top up the Aliyun account; the texts wait and go out when it answers again."), ours=True),
    _e("isv.PARAM_LENGTH_LIMIT", _l("A template variable is too long"),
       _l("Each variable may hold at most 35 characters; shorten the notice's text or the deputy's field.")),
    _e("no_template", _l("Not composed from a template"),
       _l("Aliyun sends only approved templates: compose the notice from one, or route it to another gateway.")),
    _e("SignatureDoesNotMatch", _l("Aliyun refused the AccessKey secret"),
       _l("ALIYUN_ACCESS_KEY_SECRET does not match the AccessKey; an administrator must fix it."), ours=True),
)})
TRANSIENT_CODES = frozenset(code for code, info in CODES.items() if info.transient)
# The carrier or the gateway says the number itself cannot take texts: texting it again (a
# reminder, a resend) only costs money until the roster is corrected.
NO_SUCH_NUMBER = frozenset({"21211", "21614", "30005", "30006"})


def number_does_not_exist(code):
    return str(code or "") in NO_SUCH_NUMBER
GAVE_UP = "gave up after"  # the delivery engine's reason when transient errors used up the attempts


def explain(code):
    """The ErrorInfo of a code, or a generic one for codes not in the table (None for no code)."""
    if not code:
        return None
    info = CODES.get(str(code))
    if info is not None:
        return info
    if re.fullmatch(r"[A-Z]{2}:\d{4}", str(code)):  # MA:0001, MK:0005 ...: an ISMG's or SMSC's own code
        return ErrorInfo(str(code), _l("Carrier gateway error"), _l("The carrier's gateway gave its own error "
                                                                    "code; sending again later often works."), True)
    if str(code).startswith("cmpp:"):
        return ErrorInfo(str(code), _l("Refused by the ISMG"), _l("The ISMG refused the text; see the error text "
                                                                  "and the carrier's interface notes."), False)
    if str(code).isdigit() and int(code) >= 500 and int(code) < 600:
        return ErrorInfo(str(code), _l("Gateway server error"), _l("The gateway had a fault; sending again later "
                                                                   "usually works."), True)
    return ErrorInfo(str(code), _l("Other error"), _l("See the error text and the gateway's documentation for "
                                                      "this code."), False)


def is_transient(code, message=None):
    """Would a new attempt plausibly succeed? True for transient codes, for our own settings'
    faults (once they are fixed) and for texts the engine gave up on after retrying transient errors."""
    info = explain(code)
    if info is not None and (info.transient or info.ours):
        return True
    return bool(message) and str(message).startswith(GAVE_UP)
