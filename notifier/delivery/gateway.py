"""The gateway interface and its Twilio adapter.

A gateway takes `Outbound` texts (a body, or a template code with variables for the planned
domestic adapter) and answers each with a `SendResult` whose `outcome` says what the caller may do:
  accepted   the gateway has it (gateway_id set);
  transient  it does not have it and a later try may work (429/20429, 5xx, 30001, no connection);
  permanent  it refused it for good (21211, 21614, 21610, any other 4xx);
  unknown    the call may or may not have reached it (a timeout, a connection cut mid-call):
             reconcile with the gateway before anything is sent again.
Every call also yields an `exchange` (request and response, secrets redacted) for gateway_exchanges.
"""
import asyncio
import concurrent.futures
import contextvars
import dataclasses
import json
import time
from datetime import timedelta

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

ACCEPTED, TRANSIENT, PERMANENT, UNKNOWN = "accepted", "transient", "permanent", "unknown"
# Twilio error codes (https://www.twilio.com/docs/api/errors).
TRANSIENT_CODES = {20429, 30001}
OPTED_OUT_CODE = 21610
PERMANENT_CODES = {21211, 21614, OPTED_OUT_CODE}


@dataclasses.dataclass
class Outbound:
    message_id: int
    to: str
    sender: str  # a From number, or a Messaging Service SID ("MG...")
    body: str = None
    template_code: str = None  # domestic gateways send approved templates only
    template_params: dict = None
    status_callback: str = None


@dataclasses.dataclass
class SendResult:
    outcome: str
    gateway_id: str = None
    gateway_status: str = None
    error_code: str = None
    error_message: str = None
    exchange: dict = None

    @property
    def opted_out(self):
        return self.error_code == str(OPTED_OUT_CODE)


@dataclasses.dataclass
class RemoteMessage:
    """A message as the gateway lists or fetches it."""

    gateway_id: str
    to: str
    body: str
    status: str
    date_created: object
    error_code: str = None
    error_message: str = None


@dataclasses.dataclass
class InboundText:
    """A text a phone sent to one of our numbers, as the gateway lists it."""

    gateway_id: str
    from_: str
    to: str
    body: str
    received_at: object


def classify_error(status, code):
    """Map an HTTP status and a Twilio error code to transient or permanent."""
    code = int(code) if code not in (None, "") else None
    if status == 429 or code in TRANSIENT_CODES or (status or 0) >= 500:
        return TRANSIENT
    if code in PERMANENT_CODES or 400 <= (status or 0) < 500:
        return PERMANENT
    return TRANSIENT


def redact(value, secrets):
    """Replace every secret in a string (or JSON-able structure) by a marker."""
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "[redacted]")
    return value


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


class TwilioGateway:
    """Twilio Programmable Messaging through the official client, at `api_base_url` when set."""

    name = "twilio"
    inbound_numbers = ()  # the numbers deputies text, whose inbound list `list_inbound` reads

    def __init__(self, account_sid, auth_token, api_base_url=None, timeout=15.0, validity_period=None):
        if not account_sid or not auth_token:
            raise RuntimeError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required for the twilio gateway")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base_url = (api_base_url or "https://api.twilio.com").rstrip("/")
        self.timeout = float(timeout)
        self.validity_period = validity_period
        self._secrets = [auth_token, account_sid]

    @classmethod
    def from_config(cls, config):
        gateway = cls(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_API_BASE_URL"),
                      timeout=config.get("TWILIO_HTTP_TIMEOUT", 15), validity_period=config.get("SMS_VALIDITY_PERIOD"))
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

    def send_many(self, items, delays=None, repace=None, late_tolerance=0.1):
        """Send `items` concurrently (each after its delay in seconds, for the rate limiter) and
        return their results in order. Runs its own event loop: call it from a worker thread.

        `repace(item)` -> a new delay: a text that wakes up more than `late_tolerance` after its
        slot (a stalled process) takes a fresh slot instead of going out in a burst with others.
        """
        batch = self._send_many(items, delays or [0.0] * len(items), repace, late_tolerance)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(batch)
        # Called from a thread that already runs an event loop (an async host, a test driving a
        # browser): give the batch a loop of its own in a helper thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, batch).result()

    async def _send_many(self, items, delays, repace, late_tolerance):
        http = _RecordingAsyncClient()
        try:
            client = self._client(http)
            return await asyncio.gather(*(self._send_one(client, item, delay, repace, late_tolerance)
                                          for item, delay in zip(items, delays, strict=True)))
        finally:
            await http.close()

    async def _send_one(self, client, item, delay, repace=None, late_tolerance=0.1):
        due = time.monotonic() + delay
        if delay > 0:
            await asyncio.sleep(delay)
        if repace is not None and time.monotonic() - due > late_tolerance:
            await asyncio.sleep(repace(item))
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
                                error_message=str(exc.msg)[:500])
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

    def find_sent(self, to, body, since):
        """Messages the gateway holds for `to` with exactly `body`, created at or after `since`
        (Messages list filtered by To and DateSent, then by To alone for ones not sent yet)."""
        found = {}
        client = self._client(_RecordingClient(timeout=self.timeout))
        day = since.date()
        for kwargs in ({"to": to, "date_sent_after": day.isoformat()}, {"to": to}):
            for remote in client.messages.list(limit=200, **kwargs):
                created = remote.date_created
                if remote.body == body and (created is None or created >= since):
                    found[remote.sid] = _remote(remote)
            if found:
                break
        return sorted(found.values(), key=lambda m: (m.date_created is None, m.date_created))

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


def gateway_for(config):
    """The configured gateway adapter (per-gateway settings all live in `config`)."""
    name = config.get("SMS_GATEWAY", "twilio")
    if name == "twilio":
        return TwilioGateway.from_config(config)
    raise RuntimeError(f"unknown SMS_GATEWAY {name!r}")


def reconcile_window_start(created_at, slack_seconds=60):
    """Gateway clocks drift: look a little before the row existed."""
    return created_at - timedelta(seconds=slack_seconds)


def dumps(value):
    return json.dumps(value, ensure_ascii=False, default=str)
