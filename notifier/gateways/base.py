"""What every gateway adapter speaks: the texts it takes and the outcomes it answers with.

A gateway takes `Outbound` texts (a body, or a template code with variables for template-only
gateways) and answers each with a `SendResult` whose `outcome` says what the caller may do:
  accepted       the gateway has it (gateway_id set);
  transient      it does not have it and a later try may work (5xx, no connection);
  throttled      it does not have it and asks us to slow down (Twilio 429/20429, CMPP result 8,
                 Aliyun's flow control): never a failure, only a slower pace;
  misconfigured  it refused us, not the recipient (bad credentials, wrong account or URL, an
                 unregistered signature): the text waits while the gateway is taken out of use;
  permanent      it refused this text for good (a bad number, an opted-out recipient);
  unknown        the call may or may not have reached it (a timeout, a connection cut mid-call):
                 reconcile with the gateway before anything is sent again.
Every call also yields an `exchange` (request and response, secrets redacted) for gateway_exchanges.

Two kinds of adapter: `http` adapters are driven by the Celery send workers (`send_many`);
`connector` adapters (CMPP) hold a session in a process of their own, which takes the texts routed
to it from the outbox itself. See notifier.gateways.registry for how a text finds its gateway.
"""
import asyncio
import concurrent.futures
import dataclasses
import json

ACCEPTED, TRANSIENT, PERMANENT, UNKNOWN = "accepted", "transient", "permanent", "unknown"
THROTTLED, MISCONFIGURED = "throttled", "misconfigured"
OUTCOMES = (ACCEPTED, TRANSIENT, THROTTLED, MISCONFIGURED, PERMANENT, UNKNOWN)
HTTP, CONNECTOR = "http", "connector"
# The error code of a `throttled` result for a text that was never sent: its pacing said "not now"
# (repace returned None, see Gateway.send_many). Our own limiter's word, not the gateway's.
PACED = "paced"


@dataclasses.dataclass
class Outbound:
    message_id: int
    to: str
    sender: str  # the gateway's sender: a From number, a Messaging Service SID, an access number
    body: str = None
    template_code: str = None  # template-only gateways send approved templates
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
    opted_out: bool = False  # the gateway says the recipient opted out: the roster must know
    retry_after: float = None  # seconds, when the gateway said how long to wait
    # A "slow down" about this recipient only (Aliyun's per-number limits): the text waits
    # `retry_after`, the pace of the others is left alone.
    recipient_limit: bool = False


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


class Gateway:
    """The interface, with the optional parts answering "cannot tell".

    name      the configured name ("twilio", "cmpp", "aliyun")
    kind      HTTP (send_many in a worker) or CONNECTOR (a process of its own)
    sender    the sender identity the limiter counts against (From number, SP access number)
    """

    name = None
    kind = HTTP
    sender = ""

    def send_many(self, items, delays=None, repace=None, on_result=None):
        """Send `items` (each after its delay, in seconds) and return their SendResults in order.

        repace(item) is called when a text wakes for its slot, just before it is sent: it answers
        the seconds to wait more (0: send now; ask again after waiting), or None: do not send it,
        answer SendResult(THROTTLED, error_code=PACED). on_result(item, result) is called as each
        answer arrives, so that the first "slow down" slows the texts still waiting.
        """
        raise NotImplementedError

    def find_sent(self, to, body, since, until=None, message_id=None):
        """Texts the gateway holds for `to` like `body`, created in [since, until]; None when the
        gateway cannot be asked (then a lost call is settled some other way). `message_id` is ours,
        for gateways that keep it with the text (Aliyun's OutId)."""
        return None

    def fetch(self, gateway_id):
        """The gateway's current view of one text, or None when it cannot be asked."""
        return None

    def check(self):
        """Raise when the gateway cannot be reached or refuses our credentials."""

    # Optional: list_inbound(since) -> [InboundText], for gateways whose replies can be listed
    # (the catch-up after an outage asks for what its webhook never brought).


def run_batch(batch):
    """Run a send batch's coroutine to its end from synchronous code. Called from a thread that
    already runs an event loop (an async host, a test driving a browser), the batch gets a loop of
    its own in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(batch)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, batch).result()


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


def dumps(value):
    return json.dumps(value, ensure_ascii=False, default=str)
