"""The simulator's memory: accepted messages, counters and the rate cap. All thread-safe."""

import collections
import copy
import dataclasses
import math
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

API_VERSION = "2010-04-01"
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})

# GSM 03.38: the basic set costs one septet, the extension set two (escape + char).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


def segments(body):
    """(segments, encoding) as a carrier splits `body`: GSM-7 160/153, else UCS-2 70/67."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in body):
        units = sum(2 if c in GSM_EXTENSION else 1 for c in body)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(body.encode("utf-16-le")) // 2  # UTF-16 code units: an emoji takes two
        single, part, encoding = 70, 67, "UCS-2"
    if units <= single:
        return 1, encoding
    return math.ceil(units / part), encoding


def new_sid(prefix="SM"):
    return prefix + uuid.uuid4().hex


def rfc2822(moment):
    return format_datetime(moment.replace(microsecond=0)) if moment else None


@dataclasses.dataclass
class SimMessage:
    sid: str
    seq: int
    account_sid: str
    to: str
    from_: str
    body: str
    messaging_service_sid: str = None
    status_callback: str = None
    validity_period: int = None
    status: str = "queued"
    num_segments: int = 1
    encoding: str = "GSM-7"
    error_code: int = None
    error_message: str = None
    direction: str = "outbound-api"
    date_created: datetime = None
    date_updated: datetime = None
    date_sent: datetime = None
    price: str = None
    # How the message ends (decided at acceptance): "delivered", "undelivered" or "failed".
    fate: str = "delivered"
    fate_error_code: int = None

    def uri(self):
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def resource(self):
        """The Message resource as Twilio's API renders it."""
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}/Media.json",
                "feedback": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri(),
        }

    def log_entry(self):
        """The accepted-log view used by tests and /_sim/messages."""
        return {
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "body": self.body,
            "status": self.status,
            "num_segments": self.num_segments,
            "encoding": self.encoding,
            "error_code": self.error_code,
            "status_callback": self.status_callback,
            "date_created": self.date_created.isoformat(),
        }


class MessageStore:
    """Every message the simulator accepted, in acceptance order."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_sid = {}
        self._by_to = collections.defaultdict(list)  # reconciliation lists by To: keep that cheap
        self._seq = 0

    def add(self, **fields):
        with self._lock:
            self._seq += 1
            now = datetime.now(UTC)
            message = SimMessage(
                sid=new_sid(),
                seq=self._seq,
                date_created=now,
                date_updated=now,
                date_sent=now,
                **fields,
            )
            self._by_sid[message.sid] = message
            self._by_to[message.to].append(message)
            return copy.copy(message)

    def add_inbound(self, account_sid, from_, to, body):
        """A text a phone sent to one of the account's numbers, as Twilio lists it (received)."""
        num_segments, encoding = segments(body)
        return self.add(account_sid=account_sid, from_=from_, to=to, body=body, direction="inbound",
                        status="received", num_segments=num_segments, encoding=encoding)

    def get(self, sid):
        with self._lock:
            message = self._by_sid.get(sid)
            return copy.copy(message) if message else None

    def advance(self, sid, status, error_messages=None):
        """Move a message to `status`; a final status is never left. Returns the new copy or None.

        An undelivered or failed message takes the error code decided at acceptance; a sent one
        gets its price."""
        with self._lock:
            message = self._by_sid.get(sid)
            if message is None or message.status in FINAL_STATUSES:
                return None
            message.status = status
            message.date_updated = datetime.now(UTC)
            if status in ("undelivered", "failed"):
                message.error_code = message.fate_error_code
                message.error_message = (error_messages or {}).get(
                    message.error_code, "Unknown error"
                )
            elif status == "sent":
                message.price = f"-{0.0075 * message.num_segments:.5f}"
            return copy.copy(message)

    def all(self):
        with self._lock:
            return [copy.copy(m) for m in self._by_sid.values()]

    def query(self, account_sid, to=None, from_=None, sent_filter=None):
        """Messages of an account, newest first, matching the list filters."""
        with self._lock:
            found = [
                copy.copy(m)
                for m in (self._by_sid.values() if to is None else self._by_to.get(to, ()))
                if m.account_sid == account_sid
                and (from_ is None or m.from_ == from_)
                and (sent_filter is None or sent_filter(m.date_sent))
            ]
        found.sort(key=lambda m: m.seq, reverse=True)
        return found

    def clear(self):
        with self._lock:
            self._by_sid.clear()
            self._by_to.clear()

    def __len__(self):
        with self._lock:
            return len(self._by_sid)


class Stats:
    """Counters for /_sim/stats and benchmarks."""

    # Always reported, zero or not.
    COUNTERS = (
        "create_requests",
        "accepted",
        "segments_accepted",
        "refused",
        "rate_limited",
        "injected_failures",
        "hung",
        "auth_failures",
        "callbacks_delivered",
        "callbacks_retried",
        "callbacks_failed",
    )

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.counts = collections.Counter()
            self.errors = collections.Counter()
            self.in_flight = getattr(self, "in_flight", 0)  # requests still running stay counted
            self.peak_in_flight = self.in_flight
            self.started = time.monotonic()

    def incr(self, name, n=1):
        with self._lock:
            self.counts[name] += n

    def error(self, code):
        with self._lock:
            self.errors[str(code)] += 1

    def enter(self):
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self):
        with self._lock:
            self.in_flight -= 1

    def snapshot(self):
        with self._lock:
            return {
                **{name: 0 for name in self.COUNTERS},
                **dict(self.counts),
                "errors": dict(self.errors),
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "uptime_s": round(time.monotonic() - self.started, 3),
            }


class RateCap:
    """Token bucket: `rate` messages per second, bursts up to one second's worth."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tokens = None
        self._rate = None
        self._stamp = time.monotonic()

    def allow(self, rate):
        if not rate:
            return True
        with self._lock:
            now = time.monotonic()
            capacity = max(1.0, rate)
            if self._tokens is None or self._rate != rate:
                self._tokens, self._rate = capacity, rate  # a new cap starts with a full bucket
            else:
                self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def reset(self):
        with self._lock:
            self._tokens = None
