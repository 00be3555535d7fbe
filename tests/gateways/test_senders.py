"""A gateway's sender is shown only when it is the real configured one, never the simulator's or
Twilio's test number (+15005550006) as if it were the platform's."""
from notifier.gateways.senders import shown_sender

REAL = {"TWILIO_API_BASE_URL": "https://api.twilio.com", "TWILIO_FROM_NUMBER": "+447700900123"}


def test_twilio_sender_only_when_real_and_configured():
    assert shown_sender("twilio", "+447700900123", REAL) == "+447700900123"
    assert shown_sender("twilio", "+447700900999", REAL) is None  # not one of ours
    # The simulator (or any other host), and Twilio's magic test numbers, are never shown.
    simulator = dict(REAL, TWILIO_API_BASE_URL="http://127.0.0.1:5055")
    assert shown_sender("twilio", "+447700900123", simulator) is None
    test = dict(REAL, TWILIO_FROM_NUMBER="+15005550006")
    assert shown_sender("twilio", "+15005550006", test) is None
    assert shown_sender("twilio", "MG123", dict(REAL, TWILIO_MESSAGING_SERVICE_SID="MG123")) == "MG123"
    assert shown_sender("twilio", "", REAL) is None


def test_cmpp_and_aliyun_senders_not_from_a_local_simulator():
    cmpp = {"CMPP_HOST": "10.1.2.3", "CMPP_SRC_ID": "106900001"}
    assert shown_sender("cmpp", "106900001", cmpp) == "106900001"
    assert shown_sender("cmpp", "106900001", dict(cmpp, CMPP_HOST="127.0.0.1")) is None
    aliyun = {"ALIYUN_SMS_ENDPOINT": "dysmsapi.aliyuncs.com", "ALIYUN_SMS_SIGN_NAME": "县人大常委会"}
    assert shown_sender("aliyun", "县人大常委会", aliyun) == "县人大常委会"
    assert shown_sender("aliyun", "县人大常委会", dict(aliyun, ALIYUN_SMS_ENDPOINT="http://localhost:5056")) is None
