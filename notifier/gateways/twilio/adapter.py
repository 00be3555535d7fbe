"""Twilio Programmable Messaging through the official client (twilio-python).

Sends concurrently on the async client (one event loop per batch), reads with the sync client
(reconciliation and receipt polls). Twilio's base URL is settable, so the demo and the tests
talk to the simulator in notifier/simulator with the same client.
"""
import asyncio
import contextvars
import re
import time
import unicodedata

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifier.gateways.base import (
    ACCEPTED,
    MISCONFIGURED,
    PACED,
    PERMANENT,
    THROTTLED,
    TRANSIENT,
    UNKNOWN,
    Gateway,
    InboundText,
    RemoteMessage,
    SendResult,
    redact,
    run_batch,
)

# Twilio error codes (https://www.twilio.com/docs/api/errors).
THROTTLED_CODES = {20429, 30001}  # too many requests; the account's queue is full
OPTED_OUT_CODE = 21610
PERMANENT_CODES = {21211, 21614, OPTED_OUT_CODE}  # bad number, not a mobile, opted out
# Our side is wrong, not the recipient's: authentication, an account or URL that does not exist,
# a From number or Messaging Service the account does not own.
MISCONFIGURED_CODES = {20003, 20404, 21212, 21606, 21659, 21660, 21701, 21703, 21704, 21705}


def classify_error(status, code):
    """Map an HTTP status and a Twilio error code to an outcome (see notifier.gateways.base)."""
    code = int(code) if str(code or "").isdigit() else None
    status = status or 0
    if status == 429 or code in THROTTLED_CODES:
        return THROTTLED
    if code in MISCONFIGURED_CODES or status in (401, 403, 404):
        return MISCONFIGURED
    if status >= 500:
        return TRANSIENT
    if code in PERMANENT_CODES or 400 <= status < 500:
        return PERMANENT
    return TRANSIENT


# A text whose slot keeps moving (the pace cut again and again) goes back to the queue after this
# many new slots rather than wait on.
_MAX_REPACES = 8

# The exchange being recorded by the current send (one per coroutine or thread).
_exchange = contextvars.ContextVar("gateway_exchange", default=None)


def _record_request(method, url, params, data):
    record = _exchange.get()
    if record is not None:
        record.update(method=method, url=url, request={"params": params or {}, "data": data or {}})


def _record_response(response):
    record = _exchange.get()
    if record is not None:
        record.update(response_status=response.status_code, response_body=(response.text or "")[:4000])


class _RecordingAsyncClient(AsyncTwilioHttpClient):
    async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                      allow_redirects=False):
        _record_request(method, url, params, data)
        response = await super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                         timeout=timeout, allow_redirects=allow_redirects)
        _record_response(response)
        return response


class _RecordingClient(TwilioHttpClient):
    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        _record_request(method, url, params, data)
        response = super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                   timeout=timeout, allow_redirects=allow_redirects)
        _record_response(response)
        return response


class TwilioGateway(Gateway):
    """Twilio Programmable Messaging, at `api_base_url` when set (the simulator)."""

    name = "twilio"
    inbound_numbers = ()  # the numbers deputies text, whose inbound list `list_inbound` reads
    list_page_size = 1000  # Twilio's largest page: a deputy's whole history is usually one request

    def __init__(self, account_sid, auth_token, api_base_url=None, timeout=15.0, validity_period=None, sender=""):
        if not account_sid or not auth_token:
            raise RuntimeError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required for the twilio gateway")
        self.sender = sender or ""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base_url = (api_base_url or "https://api.twilio.com").rstrip("/")
        self.timeout = float(timeout)
        self.validity_period = validity_period
        self._secrets = [auth_token, account_sid]

    @classmethod
    def from_config(cls, config):
        gateway = cls(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_API_BASE_URL"),
                   timeout=config.get("TWILIO_HTTP_TIMEOUT", 15), validity_period=config.get("SMS_VALIDITY_PERIOD"),
                   sender=config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM_NUMBER"))
        numbers = config.get("TWILIO_INBOUND_NUMBERS") or config.get("TWILIO_FROM_NUMBER") or ""
        gateway.inbound_numbers = tuple(n.strip() for n in numbers.split(",") if n.strip())
        return gateway

    def _client(self, http_client):
        client = Client(self.account_sid, self.auth_token, http_client=http_client)
        # Every Twilio domain carries its own base URL; Messages live on the `api` domain.
        client.api.base_url = self.api_base_url
        return client

    def create_params(self, item):
        if item.body is None:
            raise ValueError("the Twilio gateway sends a body; template messages need a template gateway")
        params = {"to": item.to, "body": item.body}
        if item.sender.startswith("MG"):
            params["messaging_service_sid"] = item.sender
        else:
            params["from_"] = item.sender
        if item.status_callback:
            params["status_callback"] = item.status_callback
        if self.validity_period:
            params["validity_period"] = int(self.validity_period)
        return params

    # --- sending -------------------------------------------------------------------------------

    def send_many(self, items, delays=None, repace=None, on_result=None):
        """Send `items` concurrently (each after its delay in seconds, for the rate limiter) and
        return their results in order. Runs its own event loop: call it from a worker thread.
        repace and on_result: see notifier.gateways.base.Gateway.send_many.
        """
        return run_batch(self._send_many(items, delays or [0.0] * len(items), repace, on_result))

    async def _send_many(self, items, delays, repace, on_result):
        http = _RecordingAsyncClient()
        try:
            client = self._client(http)
            return await asyncio.gather(*(self._send_one(client, item, delay, repace, on_result)
                                          for item, delay in zip(items, delays, strict=True)))
        finally:
            await http.close()

    async def _send_one(self, client, item, delay, repace=None, on_result=None):
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(_MAX_REPACES):
            wait = 0.0 if repace is None else repace(item)
            if wait is None or wait <= 0:
                break
            await asyncio.sleep(wait)
        else:
            wait = None
        if wait is None:
            return SendResult(THROTTLED, error_code=PACED, error_message="not sent: held back by the rate limiter")
        result = await self._create(client, item)
        if on_result is not None:
            on_result(item, result)
        return result

    async def _create(self, client, item):
        record = {}
        _exchange.set(record)
        started = time.monotonic()
        try:
            params = self.create_params(item)
            created = await asyncio.wait_for(client.messages.create_async(**params), self.timeout)
            result = SendResult(ACCEPTED, gateway_id=created.sid, gateway_status=created.status)
        except TimeoutError:
            result = SendResult(UNKNOWN, error_code="timeout", error_message=f"no answer within {self.timeout:g}s")
        except TwilioRestException as exc:
            result = SendResult(classify_error(exc.status, exc.code), error_code=str(exc.code),
                                error_message=str(exc.msg)[:500], opted_out=str(exc.code) == str(OPTED_OUT_CODE))
        except TwilioException as exc:  # RFC-9457 errors and the like
            status, code = getattr(exc, "status", None), getattr(exc, "code", None)
            result = SendResult(classify_error(status, code), error_code=str(code), error_message=str(exc)[:500])
        except ValueError as exc:
            result = SendResult(PERMANENT, error_code="invalid", error_message=str(exc)[:500])
        except Exception as exc:  # noqa: BLE001  (aiohttp and OS errors)
            result = SendResult(_connection_outcome(exc), error_code="connection",
                                error_message=f"{type(exc).__name__}: {exc}"[:500])
        record.setdefault("method", "POST")
        record.setdefault("url", f"{self.api_base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json")
        record["duration_ms"] = int((time.monotonic() - started) * 1000)
        if result.outcome != ACCEPTED:
            record["error"] = result.error_message
        result.exchange = redact(record, self._secrets)
        return result

    # --- reading (reconciliation, receipts) ------------------------------------------------------

    def find_sent(self, to, body, since, until=None, message_id=None):
        """Texts the gateway holds for `to` that carry `body` (as Twilio may have changed it, see
        body_match), created in [since, until]; the best matches first, then the earliest.

        Reads every page of two lists: the texts to `to` sent on the window's days (DateSent
        filters are by day), and every text to `to` (one still queued at Twilio has no DateSent
        yet). Twilio's clock is not ours: the caller widens the window for that."""
        found = {}
        client = self._client(_RecordingClient(timeout=self.timeout))
        days = {"date_sent_after": since.date().isoformat()}
        if until is not None:
            days["date_sent_before"] = until.date().isoformat()
        for kwargs in (days, {}):
            for remote in client.messages.stream(to=to, page_size=self.list_page_size, **kwargs):
                created = remote.date_created
                if remote.sid in found or (created is not None and (
                        created < since or (until is not None and created > until))):
                    continue
                score = body_match(body, remote.body)
                if score:
                    found[remote.sid] = (score, created, remote)
        ranked = sorted(found.values(), key=lambda f: (-f[0], f[1] is None, f[1]))
        return [_remote(remote) for _, _, remote in ranked]

    def fetch(self, gateway_id):
        client = self._client(_RecordingClient(timeout=self.timeout))
        return _remote(client.messages(gateway_id).fetch())

    def list_inbound(self, since):
        """Texts received on `inbound_numbers` at or after `since`, oldest first (Messages list
        filtered by To and DateSent from that day, direction inbound)."""
        client = self._client(_RecordingClient(timeout=self.timeout))
        found = {}
        for number in self.inbound_numbers:
            for remote in client.messages.list(to=number, date_sent_after=since.date().isoformat(), page_size=1000):
                received = remote.date_sent or remote.date_created
                if remote.direction == "inbound" and (received is None or received >= since):
                    found[remote.sid] = InboundText(gateway_id=remote.sid, from_=remote.from_, to=remote.to,
                                                    body=remote.body or "", received_at=received)
        return sorted(found.values(), key=lambda m: (m.received_at is None, m.received_at))

    def check(self):
        """One cheap authenticated read: fails on a bad token, account or base URL."""
        client = self._client(_RecordingClient(timeout=self.timeout))
        client.messages.list(limit=1)


# What Twilio (Smart Encoding) or a carrier may replace in a body, beyond Unicode compatibility forms.
_LOOKALIKES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u201c": '"',
                             "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2013": "-", "\u2014": "-",
                             "\u2015": "-", "\u2212": "-", "\u200b": "", "\u200c": "", "\u200d": "",
                             "\ufeff": ""})
_SIGNATURE = re.compile(r"【[^【】]{1,30}】")
# What Twilio or a carrier may add around a text: an opt-out line ("Reply STOP to unsubscribe",
# 回复TD退订, 拒收请回复R) or a trial account's "Sent from your Twilio trial account - ".
_ADDED = re.compile(r"stop|unsubscribe|退订|td|拒收|twilio")
_ADDED_ROOM = 40


def _normalised(body):
    text = unicodedata.normalize("NFKC", body or "").translate(_LOOKALIKES)
    return "".join(_SIGNATURE.sub("", text).split()).casefold()


def body_match(ours, theirs):
    """How surely `theirs`, a body as Twilio lists it, is the text we sent as `ours`:
    3 the same; 2 the same once normalised (Unicode compatibility forms and Smart Encoding's
    look-alikes, whitespace, the 【signature】 moved or dropped); 1 one holds the other (Twilio or
    a carrier truncated or split it, or added an opt-out line or a trial notice); 0 not ours."""
    if not ours or not theirs:
        return 0
    if ours == theirs:
        return 3
    a, b = _normalised(ours), _normalised(theirs)
    if not a or not b:
        return 0
    if a == b:
        return 2
    if a in b and len(b) - len(a) <= _ADDED_ROOM and _ADDED.search(b.replace(a, "", 1)):
        return 1
    if b in a and len(b) >= max(16, len(a) // 4):
        return 1
    return 0


def _remote(instance):
    return RemoteMessage(gateway_id=instance.sid, to=instance.to, body=instance.body, status=instance.status,
                         date_created=instance.date_created,
                         error_code=str(instance.error_code) if instance.error_code else None,
                         error_message=instance.error_message)


def _connection_outcome(exc):
    """A refused or unresolvable connection never reached the gateway: safe to retry. Anything
    else (a cut connection, a read that failed) may have been accepted: reconcile first."""
    try:
        import aiohttp
    except ImportError:  # pragma: no cover
        return UNKNOWN
    if isinstance(exc, (aiohttp.ClientConnectorError, ConnectionRefusedError)):
        return TRANSIENT
    return UNKNOWN

