"""The Dysmsapi simulator's settings: its account, approved sign names and templates, faults."""
import dataclasses
import json

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8766
DEFAULT_ACCESS_KEY_ID = "LTAI5tSimulatorKey0001"
DEFAULT_ACCESS_KEY_SECRET = "simulator-access-key-secret"
DEFAULT_SIGN_NAME = "县人大常委会"
# Approved templates (code -> text), as an account holds them after Aliyun's review.
DEFAULT_TEMPLATES = {
    "SMS_480000001": "${name}代表：${content}请回复1确认，2请假。",
    "SMS_480000002": "${name}代表您好，${content}",
    "SMS_480000003": "尊敬的${name}代表：定于${time}在${place}召开${meeting}，请回复1参加、2请假。#${code}",
}


@dataclasses.dataclass
class AliyunSimConfig:
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET
    sign_names: tuple = (DEFAULT_SIGN_NAME,)
    templates: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    latency_ms: str = "0"  # N or LOW-HIGH per call
    # Fault injection, each a share of SendSms/SendBatchSms calls:
    throttle_rate: float = 0.0  # answered Throttling.User (HTTP 400): the API's flow control
    limit_rate: float = 0.0  # answered isv.BUSINESS_LIMIT_CONTROL (HTTP 200), minute level
    fail_rate: float = 0.0  # answered HTTP 500 ServiceUnavailable
    fail_accepts: bool = False  # whether a 500 still sent the text (the platform must not resend it)
    hang_rate: float = 0.0  # answered only after hang_seconds
    hang_seconds: float = 30.0
    hang_accepts: bool = True
    invalid_numbers: tuple = ()  # answered isv.MOBILE_NUMBER_ILLEGAL
    undelivered_numbers: tuple = ()  # sent, then reported failed
    # Aliyun's per-number limits for one signature and template (0: none).
    per_number_per_minute: int = 0
    per_number_per_day: int = 50
    # Pushes: receipts go to report_url, replies to up_url, as JSON arrays.
    report_url: str = ""
    up_url: str = ""
    report_after_ms: str = "50"  # send -> receipt
    push_batch: int = 20  # receipts per push at most
    duplicate_rate: float = 0.0  # share of receipts pushed twice
    # Deputies replying: a share of delivered texts is answered after reply_after_ms, with one of
    # reply_texts (and the text's #code when its template carries ${code}, half of the time).
    reply_rate: float = 0.0
    reply_after_ms: str = "2000-20000"
    reply_texts: tuple = ("1", "1", "1", "2", "收到，谢谢", "2 出差在外")
    max_skew_seconds: int = 900  # x-acs-date older or newer than this: refused
    seed: int = None

    def update(self, **options):
        fields = {f.name: f for f in dataclasses.fields(self)}
        for name, value in options.items():
            if name not in fields:
                raise ValueError(f"unknown setting {name!r}")
            setattr(self, name, _coerce(fields[name], getattr(self, name), value))
        return self

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
                if k != "access_key_secret"}


def _coerce(field, current, value):
    if isinstance(current, bool) or field.type is bool:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if isinstance(current, tuple) or field.type is tuple:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(value)
    if field.type is dict:
        return json.loads(value) if isinstance(value, str) else dict(value)
    if field.type is float:
        return float(value)
    if field.type is int:
        return None if value in (None, "") else int(value)
    return value if value is None else str(value)
