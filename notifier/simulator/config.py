"""What the simulator can be told to do: one settings object, changeable at runtime.

Options come from keyword arguments (tests), CLI flags and the JSON control endpoint, so every
value is parsed from loose input (strings, numbers, lists) and checked here, in one place.
"""

import dataclasses
import threading

import click

from .replies import parse_mix


def set_options(pairs):
    """The simulator commands' repeated --set NAME=VALUE, as {name: value} (parsed by the config)."""
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--set")
        options[name.strip().replace("-", "_")] = value
    return options

# Fake credentials of the simulator (not secrets): Twilio-shaped so the official client accepts them.
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "simulator-auth-token"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# The sender a Messaging Service picks from its pool, when a message names a service and no From.
DEFAULT_SERVICE_FROM = "+15017122661"


def parse_ms_range(value):
    """100 -> (100, 100); "100-200" or [100, 200] -> (100, 200): a fixed or uniform random delay."""
    if value is None or value == "":
        return (0.0, 0.0)
    if isinstance(value, str):
        parts = value.replace("..", "-").split("-")
        if len(parts) not in (1, 2):
            raise ValueError(f"not a delay in ms or a range LOW-HIGH: {value!r}")
        value = [float(p) for p in parts]
    elif isinstance(value, (int, float)):
        value = [float(value)]
    else:
        value = [float(v) for v in value]
    low, high = (value[0], value[0]) if len(value) == 1 else (value[0], value[1])
    if low < 0 or high < low:
        raise ValueError(f"a delay range needs 0 <= LOW <= HIGH, got {low}-{high}")
    return (low, high)


def _share(value):
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a share must be between 0 and 1, got {share}")
    return share


def _non_negative(value):
    number = float(value)
    if number < 0:
        raise ValueError(f"must not be negative, got {number}")
    return number


def _bool(value):
    if isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)


def _numbers(value):
    """A set of numbers from a list or a comma-separated string."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(str(v).strip() for v in value if str(v).strip())


def _number_codes(value):
    """{number: error code}: a dict, or a list / comma string of numbers (code: the default)."""
    if isinstance(value, dict):
        return {str(k).strip(): int(v) for k, v in value.items()}
    return {number: None for number in _numbers(value)}


def _statuses(value):
    statuses = _numbers(value)
    unknown = statuses - {"queued", "sent", "delivered", "undelivered", "failed"}
    if unknown:
        raise ValueError(f"unknown message statuses {sorted(unknown)}")
    return statuses


def _positive_int(value):
    number = int(value)
    if number < 1:
        raise ValueError(f"must be at least 1, got {number}")
    return number


def _optional_int(value):
    return None if value is None or value == "" else int(value)


@dataclasses.dataclass
class SimulatorConfig:
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    # Per API request, half before the message is accepted and half after (so a callback can
    # beat the create response back, as with the real service).
    latency_ms: tuple = (0.0, 0.0)
    # Messages per second accepted by create (0: no cap); over it -> HTTP 429 / 20429.
    rate_cap: float = 0.0
    fail_rate: float = 0.0  # share of create calls answered HTTP 500 / 20500
    fail_accepts: bool = False  # ... after recording (and delivering) the message anyway
    hang_rate: float = 0.0  # share of create calls answered only after hang_seconds
    hang_seconds: float = 30.0
    hang_accepts: bool = True  # a hung call still records (and delivers) its message
    undelivered_rate: float = 0.0  # share of accepted messages ending undelivered
    undelivered_error_codes: tuple = (30003, 30005)
    # Numbers refused at create time (HTTP 400) with Twilio's permanent error codes.
    invalid_numbers: frozenset = frozenset()  # 21211
    opted_out_numbers: frozenset = frozenset()  # 21610
    not_mobile_numbers: frozenset = frozenset()  # 21614
    # Numbers accepted but ending undelivered / failed: {number: error code or None (default)}.
    undelivered_numbers: dict = dataclasses.field(default_factory=dict)
    failed_numbers: dict = dataclasses.field(default_factory=dict)
    # Status callbacks: each step's delay after the previous one (ms, fixed or range).
    queued_after_ms: tuple = (0.0, 0.0)
    sent_after_ms: tuple = (100.0, 100.0)
    final_after_ms: tuple = (400.0, 400.0)
    # Which status changes are posted (all, as Twilio does; fewer makes benchmarks cheaper).
    callback_statuses: frozenset = frozenset(
        {"queued", "sent", "delivered", "undelivered", "failed"}
    )
    callback_retries: int = 3
    callback_retry_base_ms: float = 200.0  # doubled on every retry
    callback_timeout: float = 5.0
    callback_workers: int = 16  # threads posting callbacks; fixed when the simulator starts
    service_from: str = DEFAULT_SERVICE_FROM
    seed: int = None
    # Deputies replying (replies.py): share of recipients of a text with a reply code who answer.
    reply_rate: float = 0.0
    reply_mix: dict = dataclasses.field(
        default_factory=lambda: {"confirm": 0.6, "decline": 0.2, "text": 0.15, "opt_out": 0.05}
    )
    reply_after_ms: tuple = (500.0, 3000.0)
    inbound_url: str = ""  # the platform's /webhooks/twilio/inbound; empty: nobody replies

    PARSERS = {
        "account_sid": str,
        "auth_token": str,
        "latency_ms": parse_ms_range,
        "rate_cap": _non_negative,
        "fail_rate": _share,
        "fail_accepts": _bool,
        "hang_rate": _share,
        "hang_seconds": _non_negative,
        "hang_accepts": _bool,
        "undelivered_rate": _share,
        "undelivered_error_codes": lambda v: tuple(
            int(c) for c in (v.split(",") if isinstance(v, str) else v)
        ),
        "invalid_numbers": _numbers,
        "opted_out_numbers": _numbers,
        "not_mobile_numbers": _numbers,
        "undelivered_numbers": _number_codes,
        "failed_numbers": _number_codes,
        "queued_after_ms": parse_ms_range,
        "sent_after_ms": parse_ms_range,
        "final_after_ms": parse_ms_range,
        "callback_statuses": _statuses,
        "callback_retries": int,
        "callback_retry_base_ms": _non_negative,
        "callback_timeout": _non_negative,
        "callback_workers": _positive_int,
        "service_from": str,
        "seed": _optional_int,
        "reply_rate": _share,
        "reply_mix": parse_mix,
        "reply_after_ms": parse_ms_range,
        "inbound_url": str,
    }

    @classmethod
    def parse(cls, options):
        """Checked, normalised values for `options`; ValueError names the bad option."""
        parsed = {}
        for name, value in options.items():
            parser = cls.PARSERS.get(name)
            if parser is None:
                raise ValueError(f"unknown simulator option {name!r}")
            try:
                parsed[name] = parser(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"bad value for {name}: {exc}") from exc
        if not parsed.get("undelivered_error_codes", (1,)):
            raise ValueError("undelivered_error_codes must not be empty")
        return parsed

    def as_dict(self):
        data = dataclasses.asdict(self)
        for name, value in data.items():
            if isinstance(value, (frozenset, set)):
                data[name] = sorted(value)
            elif isinstance(value, tuple):
                data[name] = list(value)
        return data


class ConfigHolder:
    """The live settings. Readers take `.current` (an immutable snapshot) once per request."""

    def __init__(self, **options):
        self._lock = threading.Lock()
        self.current = SimulatorConfig(**SimulatorConfig.parse(options))

    def update(self, **options):
        parsed = SimulatorConfig.parse(options)
        with self._lock:
            self.current = dataclasses.replace(self.current, **parsed)
        return self.current
