"""Which gateway sender may be shown to staff as a number deputies see.

A message records the sender its gateway used (a From number, a Messaging Service SID, an SP
access number). Against the simulator or Twilio's test credentials that is a made-up number
(+15005550006, a US test number): shown on a page it reads as if it were the platform's own
number. Only a sender that is the gateway's configured one, on the real service, is shown.
"""
import ipaddress
import re
from urllib.parse import urlparse

from flask import current_app

# Twilio's "magic" test numbers (+1 500 555 xxxx): they never send anything.
TWILIO_TEST_NUMBER = re.compile(r"^\+1500555\d{4}$")


def _local(host):
    """A loopback or unnamed host: the simulator, not a carrier."""
    host = (host or "").strip().lower()
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _configured(gateway, config):
    """The senders this gateway is configured with, when it talks to the real service; else ()."""
    if gateway == "twilio":
        host = urlparse(config.get("TWILIO_API_BASE_URL") or "").hostname or ""
        if not (host == "twilio.com" or host.endswith(".twilio.com")):
            return ()
        inbound = [n.strip() for n in (config.get("TWILIO_INBOUND_NUMBERS") or "").split(",")]
        return tuple(s for s in (config.get("TWILIO_FROM_NUMBER"), config.get("TWILIO_MESSAGING_SERVICE_SID"), *inbound)
                     if s and not TWILIO_TEST_NUMBER.match(s))
    if gateway == "cmpp":
        return () if _local(config.get("CMPP_HOST")) else tuple(s for s in (config.get("CMPP_SRC_ID"),) if s)
    if gateway == "aliyun":
        endpoint = config.get("ALIYUN_SMS_ENDPOINT") or ""
        host = urlparse(endpoint if "//" in endpoint else f"//{endpoint}").hostname
        return () if _local(host) else tuple(s for s in (config.get("ALIYUN_SMS_SIGN_NAME"),) if s)
    return ()


def shown_sender(gateway, sender, config=None):
    """`sender` when it is a real configured sender of `gateway`, else None."""
    config = current_app.config if config is None else config
    if not sender or TWILIO_TEST_NUMBER.match(sender):
        return None
    return sender if sender in _configured(gateway, config) else None
