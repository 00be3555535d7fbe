"""What the ISMG simulator can be told to do: one settings object, changed at runtime through the
control API, parsed from loose input (CLI flags, JSON) and checked here, in one place."""
import dataclasses

from ..config import _bool, _non_negative, _share, parse_ms_range

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7890
DEFAULT_CONTROL_PORT = 7891
# Fake credentials of the simulator (not secrets).
DEFAULT_SP_ID = "900001"
DEFAULT_SECRET = "simulator-secret"
DEFAULT_SRC_ID = "1065712345"

REPLY_BODIES = {
    "confirm": ["1", "1", "1 收到", "确认"],
    "decline": ["2", "2 出差在外", "请假"],
    "text": ["收到，准时参加", "请问会议地点在哪里？", "材料收到了，有几点意见稍后反映。"],
}


def _count(value):
    number = int(value)
    if number < 0:
        raise ValueError(f"must not be negative, got {number}")
    return number


def _numbers(value):
    """{11-digit number: value or None}: a dict, or a list / comma-separated string of numbers."""
    if isinstance(value, dict):
        return {str(k).strip().removeprefix("+86"): v for k, v in value.items()}
    if isinstance(value, str):
        value = value.split(",")
    return {str(v).strip().removeprefix("+86"): None for v in value or () if str(v).strip()}


def _stats(value):
    """Numbers whose reports carry another Stat: {number: "UNDELIV"}; a bare list means UNDELIV."""
    stats = {}
    for number, stat in _numbers(value).items():
        stat = stat or "UNDELIV"
        if len(stat) > 7:
            raise ValueError(f"a Stat is at most 7 characters: {stat!r}")
        stats[number] = stat
    return stats


def _results(value):
    """Numbers refused at SUBMIT: {number: Result}; a bare list means 13 (Dest_terminal_Id)."""
    results = {number: int(result or 13) for number, result in _numbers(value).items()}
    if any(result in (0, 8) or not 0 < result < 256 for result in results.values()):
        raise ValueError("a refusal is a Result from 1 to 255, not 0 or 8")
    return results


def _mix(kinds):
    def parse(value):
        if isinstance(value, str):
            pairs = [p.split(":", 1) for p in value.split(",") if p.strip()]
            value = {k.strip(): v for k, v in pairs}
        mix = {str(k): float(v) for k, v in dict(value).items()}
        if set(mix) - set(kinds):
            raise ValueError(f"unknown kinds {sorted(set(mix) - set(kinds))}, known: {kinds}")
        if any(w < 0 for w in mix.values()) or not sum(mix.values()):
            raise ValueError("weights are >= 0 and not all 0")
        return mix

    return parse


@dataclasses.dataclass(frozen=True)
class IsmgConfig:
    sp_id: str = DEFAULT_SP_ID
    shared_secret: str = DEFAULT_SECRET
    src_id: str = DEFAULT_SRC_ID  # the SP's access number: every Src_Id must start with it
    service_id: str = ""  # when set, SUBMITs with another Service_Id get Result 7
    gateway_code: int = 1234  # this ISMG's code inside every Msg_Id
    # Per SUBMIT, before its SUBMIT_RESP (fixed or LOW-HIGH ms); submits wait concurrently.
    latency_ms: tuple = (0.0, 0.0)
    window: int = 16  # unanswered SUBMITs allowed per connection; beyond: Result 8
    rate_cap: float = 0.0  # SUBMITs per second per account; beyond: Result 8 (0: no cap)
    drop_after: int = 0  # drop a connection on its Nth SUBMIT (0: never)
    drop_rate: float = 0.0  # share of SUBMITs on which the connection drops
    drop_accepts: bool = True  # the SUBMIT that drops the link was taken (and is delivered)
    refused_numbers: dict = dataclasses.field(default_factory=dict)  # {number: Result}
    report_after_ms: tuple = (50.0, 50.0)
    undelivered_numbers: dict = dataclasses.field(default_factory=dict)  # {number: Stat}
    undelivered_rate: float = 0.0  # share of texts whose reports say UNDELIV
    lost_report_numbers: dict = dataclasses.field(default_factory=dict)  # reports never come
    lost_report_rate: float = 0.0
    duplicate_report_rate: float = 0.0  # share of reports delivered twice
    duplicate_mo_rate: float = 0.0  # share of MO texts delivered twice
    deliver_resend_ms: float = 5000.0  # an unanswered DELIVER goes again after this long
    deliver_retries: int = 3
    active_test_interval: float = 60.0  # ACTIVE_TEST to an idle SP after this many s (0: never)
    mute: bool = False  # read everything, answer nothing: a dead peer
    reply_rate: float = 0.0  # share of delivered texts a simulated deputy answers
    reply_mix: dict = dataclasses.field(
        default_factory=lambda: {"confirm": 0.6, "decline": 0.2, "text": 0.2}
    )
    reply_formats: dict = dataclasses.field(default_factory=lambda: {"8": 0.6, "0": 0.3, "15": 0.1})
    reply_after_ms: tuple = (200.0, 1000.0)
    seed: int = None

    PARSERS = {
        "sp_id": str,
        "shared_secret": str,
        "src_id": str,
        "service_id": str,
        "gateway_code": int,
        "latency_ms": parse_ms_range,
        "window": _count,
        "rate_cap": _non_negative,
        "drop_after": _count,
        "drop_rate": _share,
        "drop_accepts": _bool,
        "refused_numbers": _results,
        "report_after_ms": parse_ms_range,
        "undelivered_numbers": _stats,
        "undelivered_rate": _share,
        "lost_report_numbers": _numbers,
        "lost_report_rate": _share,
        "duplicate_report_rate": _share,
        "duplicate_mo_rate": _share,
        "deliver_resend_ms": _non_negative,
        "deliver_retries": _count,
        "active_test_interval": _non_negative,
        "mute": _bool,
        "reply_rate": _share,
        "reply_mix": _mix(tuple(REPLY_BODIES)),
        "reply_formats": _mix(("0", "8", "15")),
        "reply_after_ms": parse_ms_range,
        "seed": lambda v: None if v in (None, "") else int(v),
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
        if not 0 <= parsed.get("gateway_code", 0) < 1 << 22:
            raise ValueError("gateway_code fits 22 bits")
        return parsed

    def replace(self, **options):
        return dataclasses.replace(self, **self.parse(options))

    def as_dict(self):
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
