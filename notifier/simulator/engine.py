"""The simulated gateway: Twilio's Messages behaviour, failure injection and message lifecycles.

Plain Python, no HTTP: app.py maps requests onto these methods. A message's fate (delivered,
undelivered, failed) is decided when it is accepted; its status then advances on the scheduler,
posting a signed callback at every step when the message has a StatusCallback.
"""

import hmac
import random
import re
import threading
from datetime import UTC, datetime
from datetime import time as dtime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

from .callbacks import CallbackSender, Scheduler, status_params
from .config import ConfigHolder
from .replies import ReplyPlayer
from .state import MessageStore, RateCap, Stats, segments

MAX_BODY = 1600
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
# Twilio's magic test numbers, refused the way the real test credentials refuse them.
MAGIC_TO = {"+15005550001": 21211, "+15005550004": 21610, "+15005550009": 21614}

DELIVERY_ERRORS = {
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}
DEFAULT_UNDELIVERED_CODE = 30003
DEFAULT_FAILED_CODE = 30008


class TwilioError(Exception):
    """An API error, rendered as Twilio's JSON error body with `status`."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self):
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def unauthorized():
    return TwilioError(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def not_found(path):
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


class Simulator:
    def __init__(self, **options):
        self.config = ConfigHolder(**options)
        self.store = MessageStore()
        self.stats = Stats()
        self.rate_cap = RateCap()
        self.stopping = threading.Event()
        self.scheduler = Scheduler(workers=self.config.current.callback_workers)
        self.callbacks = CallbackSender(
            self.scheduler, self.stats, workers=self.config.current.callback_workers
        )
        self._rng = random.Random(self.config.current.seed)
        self.replies = ReplyPlayer(self)  # simulated deputies answering (replies.py)

    # -- control ---------------------------------------------------------------------------
    def configure(self, **options):
        config = self.config.update(**options)
        if "seed" in options:
            self._rng.seed(config.seed)
        return config

    def reset(self):
        """Forget messages, counters and pending callbacks; the settings stay."""
        self.scheduler.clear()
        self.store.clear()
        self.stats.reset()
        self.rate_cap.reset()
        self.replies.clear()

    def close(self):
        self.stopping.set()
        self.scheduler.close()

    def pause(self, seconds):
        """Sleep that a shutdown interrupts, so hung requests do not outlive the server."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def latency_half(self, config):
        low, high = config.latency_ms
        return (low if low == high else self._rng.uniform(low, high)) / 2000.0

    def authenticate(self, account_sid, username, password):
        """Raise 401 unless Basic credentials are this simulator's and the URL names its account."""
        config = self.config.current
        good = (
            username is not None
            and password is not None
            and hmac.compare_digest(username.encode(), config.account_sid.encode())
            and hmac.compare_digest(password.encode(), config.auth_token.encode())
        )
        if not good or account_sid != config.account_sid:
            self.stats.incr("auth_failures")
            raise unauthorized()

    # -- Messages: create ------------------------------------------------------------------
    def create_message(self, account_sid, form):
        """Twilio's Messages create, with the configured injections. Returns the accepted message."""
        config = self.config.current
        self.stats.incr("create_requests")
        if not self.rate_cap.allow(config.rate_cap):
            self.stats.incr("rate_limited")
            raise TwilioError(429, 20429, "Too Many Requests")
        fail = bool(config.fail_rate) and self._rng.random() < config.fail_rate
        if fail and not config.fail_accepts:
            self.stats.incr("injected_failures")
            raise TwilioError(500, 20500, "An internal server error has occurred")
        fields = self._validated(form, config)
        if fail:
            # Accepted, yet the caller is told it failed: only reconciliation avoids a duplicate.
            self.stats.incr("injected_failures")
            self._accept(account_sid, fields, config)
            raise TwilioError(500, 20500, "An internal server error has occurred")
        hang = bool(config.hang_rate) and self._rng.random() < config.hang_rate
        if hang:
            self.stats.incr("hung")
            message = self._accept(account_sid, fields, config) if config.hang_accepts else None
            self.pause(config.hang_seconds)
            if message is None:
                raise TwilioError(500, 20500, "An internal server error has occurred")
            return message
        return self._accept(account_sid, fields, config)

    def _validated(self, form, config):
        to = (form.get("To") or "").strip()
        from_ = (form.get("From") or "").strip()
        service = (form.get("MessagingServiceSid") or "").strip()
        body = form.get("Body") or ""
        callback = (form.get("StatusCallback") or "").strip()
        validity = form.get("ValidityPeriod")
        if not to:
            raise self._refused(21604, "A 'To' phone number is required.")
        if not from_ and not service:
            raise self._refused(21603, "A 'From' phone number is required.")
        if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
            raise self._refused(21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise self._refused(
                21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if service and not SERVICE_SID.match(service):
            raise self._refused(21701, f"The Messaging Service Sid {service} is invalid.")
        if from_ and not (
            E164.match(from_) or SHORT_CODE.match(from_) or ALPHA_SENDER.match(from_)
        ):
            raise self._refused(
                21212,
                f"The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric sender ID.",
            )
        if validity not in (None, ""):
            try:
                validity = int(validity)
            except ValueError:
                validity = 0
            if not 1 <= validity <= 36000:
                raise self._refused(
                    21624,
                    "Validity period can only be set to integers between 1 and 36,000 seconds.",
                )
        else:
            validity = None
        if callback:
            parts = urlsplit(callback)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise self._refused(21609, f"The StatusCallback URL {callback} is not a valid URL.")
        if not E164.match(to) or to in config.invalid_numbers or MAGIC_TO.get(to) == 21211:
            raise self._refused(21211, f"The 'To' number {to} is not a valid phone number.")
        if to in config.opted_out_numbers or MAGIC_TO.get(to) == 21610:
            raise self._refused(21610, "Attempt to send to unsubscribed recipient")
        if to in config.not_mobile_numbers or MAGIC_TO.get(to) == 21614:
            raise self._refused(21614, f"'To' number {to} is not a valid mobile number")
        return {
            "to": to,
            "from_": from_ or config.service_from,
            "messaging_service_sid": service or None,
            "body": body,
            "status_callback": callback or None,
            "validity_period": validity,
        }

    def _refused(self, code, message):
        self.stats.incr("refused")
        return TwilioError(400, code, message)

    def _accept(self, account_sid, fields, config):
        num_segments, encoding = segments(fields["body"])
        fate, fate_code = self._fate(fields["to"], config)
        message = self.store.add(
            account_sid=account_sid,
            status="accepted" if fields["messaging_service_sid"] else "queued",
            num_segments=num_segments,
            encoding=encoding,
            fate=fate,
            fate_error_code=fate_code,
            **fields,
        )
        self.stats.incr("accepted")
        self.stats.incr("segments_accepted", num_segments)
        self._later(config.queued_after_ms, self._step, message.sid, "queued")
        return message

    def _fate(self, to, config):
        if to in config.failed_numbers:
            return "failed", config.failed_numbers[to] or DEFAULT_FAILED_CODE
        if to in config.undelivered_numbers:
            return "undelivered", config.undelivered_numbers[to] or DEFAULT_UNDELIVERED_CODE
        if config.undelivered_rate and self._rng.random() < config.undelivered_rate:
            return "undelivered", self._rng.choice(config.undelivered_error_codes)
        return "delivered", None

    # -- lifecycle -------------------------------------------------------------------------
    def _later(self, delay_range_ms, fn, *args):
        low, high = delay_range_ms
        delay = low if low == high else self._rng.uniform(low, high)
        self.scheduler.call_later(delay / 1000.0, fn, *args, inline=True)

    def _step(self, sid, status):
        """Move a message one step on, schedule the following step and hand its callback to the
        pool. Runs on the scheduler's timer thread, so it must stay quick and never block."""
        config = self.config.current
        message = self.store.advance(sid, status, DELIVERY_ERRORS)
        if message is None:
            return
        self.stats.incr(f"status_{status}")
        if status == "queued":
            following = ("failed" if message.fate == "failed" else "sent", config.sent_after_ms)
        elif status == "sent":
            following = (message.fate, config.final_after_ms)
        else:
            following = None
        if following:
            self._later(following[1], self._step, sid, following[0])
        if status == "delivered":
            self.replies.on_delivered(message)
        if message.status_callback and status in config.callback_statuses:
            params = status_params(message, message.account_sid)
            self.scheduler.submit(self.callbacks.send, message.status_callback, params, config)

    # -- Messages: fetch and list ----------------------------------------------------------
    def fetch_message(self, account_sid, sid, path):
        message = self.store.get(sid)
        if message is None or message.account_sid != account_sid:
            raise not_found(path)
        return message

    def list_messages(self, account_sid, args, path):
        """A page of Twilio's Messages list (newest first) as the JSON payload."""
        to, from_ = args.get("To") or None, args.get("From") or None
        sent_filter = _sent_filter(
            args.get("DateSent"), args.get("DateSent<"), args.get("DateSent>")
        )
        page_size = _int_arg(args, "PageSize", 50, 1, 1000)
        page = _int_arg(args, "Page", 0, 0, None)
        token = args.get("PageToken") or ""
        found = self.store.query(account_sid, to=to, from_=from_, sent_filter=sent_filter)
        if token:
            anchor = self.store.get(token[2:]) if token[:2] in ("PA", "PB") else None
            if anchor is None:
                raise TwilioError(400, 20001, f"Invalid PageToken {token}")
            if token.startswith("PA"):
                items = [m for m in found if m.seq < anchor.seq][:page_size]
            else:
                items = [m for m in found if m.seq > anchor.seq][-page_size:]
        else:
            items = found[page * page_size : (page + 1) * page_size]
        older = bool(items) and found[-1].seq < items[-1].seq

        filters = [
            (k, args[k])
            for k in ("To", "From", "DateSent", "DateSent<", "DateSent>")
            if args.get(k)
        ]

        def page_uri(number, page_token=None):
            query = filters + [("PageSize", page_size), ("Page", number)]
            if page_token:
                query.append(("PageToken", page_token))
            return f"{path}?{urlencode(query)}"

        start = page * page_size
        return {
            "messages": [m.resource() for m in items],
            "end": start + max(len(items) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, "PA" + items[-1].sid) if older else None,
            "previous_page_uri": page_uri(page - 1, "PB" + items[0].sid)
            if page > 0 and items
            else None,
            "page": page,
            "page_size": page_size,
            "start": start,
            "uri": page_uri(page, token or None),
        }

    # -- inbound texts ---------------------------------------------------------------------
    def receive_text(self, from_, to, body, post=True):
        """A phone texts one of the account's numbers: listed at once; posted to inbound_url
        (retried like a callback) unless post is False, as when the platform never got it."""
        config = self.config.current
        message = self.store.add_inbound(config.account_sid, from_, to, body)
        if post and config.inbound_url:
            self.scheduler.submit(self.replies.send, from_, to, body, "posted", config, 0, message.sid)
        return message

    # -- accepted log ----------------------------------------------------------------------
    def accepted(self, to=None, body=None, status=None):
        """What the platform sent through the simulator (inbound texts are not in it)."""
        return [
            m.log_entry()
            for m in sorted(self.store.all(), key=lambda m: m.seq)
            if m.direction != "inbound"
            and (to is None or m.to == to)
            and (body is None or m.body == body)
            and (status is None or m.status == status)
        ]


def _int_arg(args, name, default, low, high):
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid {name}: {raw}") from None
    if value < low or (high is not None and value > high):
        raise TwilioError(400, 20001, f"Invalid {name}: {raw}")
    return value


def _parse_when(raw, name):
    """(datetime, date_only) from the formats Twilio accepts for DateSent filters."""
    raw = raw.strip()
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d")
            return day.replace(tzinfo=UTC), True
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            moment = parsedate_to_datetime(raw)
    except (ValueError, TypeError):
        raise TwilioError(400, 20001, f"Invalid {name}: {raw}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), False


def _sent_filter(on, before, after):
    """A predicate on date_sent for DateSent (that day), DateSent< and DateSent> (inclusive)."""
    tests = []
    if on:
        moment, _ = _parse_when(on, "DateSent")
        day = moment.date()
        tests.append(lambda sent: sent.date() == day)
    if before:
        moment, date_only = _parse_when(before, "DateSent<")
        limit = datetime.combine(moment.date(), dtime.max, UTC) if date_only else moment
        tests.append(lambda sent: sent <= limit)
    if after:
        moment, _ = _parse_when(after, "DateSent>")
        tests.append(lambda sent: sent >= moment)
    if not tests:
        return None

    def matches(sent):
        # The API shows whole seconds, so filters compare at that precision.
        sent = sent.replace(microsecond=0)
        return all(test(sent) for test in tests)

    return matches
