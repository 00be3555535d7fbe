"""Simulated deputies replying: when a text that asks for a reply (it carries a reply code such as
"#27") is delivered, a share of its recipients answer after a delay, with a mix of confirmations,
declines, free text and the odd 退订, posted to the platform's inbound webhook signed like Twilio.

Options (SimulatorConfig): reply_rate (share of recipients who answer, 0 = off), reply_mix
("confirm:0.6,decline:0.2,text:0.15,opt_out:0.05"), reply_after_ms (delay, fixed or a range),
inbound_url (where to post; empty = off). `log()` (and GET /_sim/replies) says what was sent.
"""
import logging
import re
import threading
from urllib.parse import urlencode

import urllib3
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)
CODE = re.compile(r"#(\d+)")
# What simulated deputies write, by kind; {code} is the notice's reply code.
BODIES = {
    "confirm": ["1", "1", "1 收到", "好的，准时参加", "1 #{code}", "确认"],
    "decline": ["2", "请假", "2 出差在外", "2 #{code}", "不参加"],
    "text": ["请问会议地点在哪里？", "能否改到下午？", "材料收到了，有几点意见稍后反映。"],
    "opt_out": ["退订"],
}
KINDS = tuple(BODIES)


def parse_mix(value):
    """"confirm:0.6,decline:0.2" or a dict -> {kind: weight}, for known kinds, weights >= 0."""
    if isinstance(value, str):
        pairs = [p.split(":", 1) for p in value.split(",") if p.strip()]
        value = {k.strip(): v for k, v in pairs}
    mix = {str(k): float(v) for k, v in dict(value).items()}
    unknown = set(mix) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown reply kinds {sorted(unknown)}")
    if any(w < 0 for w in mix.values()) or not sum(mix.values()):
        raise ValueError("reply weights must be >= 0 and not all 0")
    return mix


class ReplyPlayer:
    def __init__(self, simulator):
        self._sim = simulator
        self._lock = threading.Lock()
        self._log = []
        self._http = urllib3.PoolManager(maxsize=8, retries=False)

    def on_delivered(self, message):
        """Called on the scheduler thread when a message is delivered: maybe schedule a reply."""
        config = self._sim.config.current
        if not config.reply_rate or not config.inbound_url:
            return
        code = CODE.search(message.body or "")
        if code is None:  # the text asks for no reply
            return
        rng = self._sim._rng
        if rng.random() >= config.reply_rate:
            return
        mix = config.reply_mix
        kind = rng.choices(list(mix), weights=list(mix.values()))[0]
        body = rng.choice(BODIES[kind]).format(code=code.group(1))
        low, high = config.reply_after_ms
        delay = (low if low == high else rng.uniform(low, high)) / 1000.0
        self._sim.scheduler.call_later(delay, self.send, message.to, message.from_, body, kind, config)

    def send(self, from_, to, body, kind, config, attempt=0, sid=None):
        """Post one inbound SMS (on a pool thread); retried on connection errors and 5xx. The text
        is in the Messages list (direction inbound) from the moment it is sent, as with Twilio."""
        sid = sid or self._sim.store.add_inbound(config.account_sid, from_, to, body).sid
        params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": config.account_sid,
                  "From": from_, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1",
                  "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        signature = RequestValidator(config.auth_token).compute_signature(config.inbound_url, params)
        try:
            response = self._http.request("POST", config.inbound_url, body=urlencode(params), timeout=10, headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
                "User-Agent": "TwilioProxy/1.1"})
            outcome = response.status
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            outcome = exc.__class__.__name__
        if (not isinstance(outcome, int) or outcome >= 500) and attempt < config.callback_retries:
            delay = config.callback_retry_base_ms * (2**attempt) / 1000.0
            self._sim.scheduler.call_later(delay, self.send, from_, to, body, kind, config, attempt + 1, sid)
            return
        with self._lock:
            self._log.append({"sid": sid, "from": from_, "to": to, "body": body, "kind": kind,
                              "status": outcome, "attempts": attempt + 1})
        self._sim.stats.incr("replies_posted" if isinstance(outcome, int) and outcome < 400 else "replies_failed")

    def log(self):
        with self._lock:
            return list(self._log)

    def clear(self):
        with self._lock:
            self._log.clear()
