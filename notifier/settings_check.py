"""Every setting checked once, when a process starts (web, worker, beat, CLI): one that does not
parse stops it there with a message naming the variable, instead of failing every tick later."""
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from limits import parse_many

from config import Invalid
from notifier.notices.schedule import parse_quiet_hours


class SettingsError(RuntimeError):
    """The settings cannot be used; str() lists each variable and what is wrong with it."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("the platform cannot start, these settings are wrong:\n"
                         + "\n".join(f"  {p}" for p in problems))


def _quiet_hours(value):
    try:
        parse_quiet_hours(value)
    except ValueError:
        raise ValueError("expected local times from and until, such as 22:00-07:00") from None


def _timezone(value):
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected a time zone such as Asia/Shanghai") from None


def _region(value):
    if str(value).upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("expected a two-letter region code such as CN")


def _signature(value):
    # Carriers in China put the sender's name in 【】 at the start or end of every text.
    inner = str(value)[1:-1]
    if not (str(value).startswith("【") and str(value).endswith("】")) or not 2 <= len(inner) <= 20 \
            or any(ch in inner for ch in "【】\n\r"):
        raise ValueError("expected the office's name in 【】, 2 to 20 characters, e.g. 【某县人大常委会】")


def _rate_limit(value):
    try:
        if not parse_many(str(value)):
            raise ValueError(value)
    except ValueError:
        raise ValueError('expected limits such as "10 per minute;50 per hour"') from None


def _url(value):
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// address")


def _callback_token(value):
    # The secret in Aliyun's push URLs, which are not signed: long, and safe in a URL path.
    if not re.fullmatch(r"[A-Za-z0-9_\-]{16,128}", str(value)):
        raise ValueError("expected 16 to 128 letters, digits, - or _ (e.g. python -c 'import secrets; "
                         "print(secrets.token_urlsafe(32))')")


def _networks(value):
    import ipaddress

    for part in str(value).split(","):
        if part.strip():
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an address or network (e.g. 47.0.0.0/8)") from None
def _same_site(value):
    if value not in ("Lax", "Strict"):
        raise ValueError("expected Lax or Strict (None would send the session with other sites' requests)")


def _log_format(value):
    if str(value).lower() not in ("text", "json"):
        raise ValueError("expected text or json")


def _worker_pool(value):
    if value not in ("prefork", "threads", "solo"):
        raise ValueError("expected prefork, threads or solo")


CHECKS = {
    "LOG_FORMAT": _log_format,
    "CELERY_WORKER_POOL": _worker_pool,
    "SESSION_COOKIE_SAMESITE": _same_site,
    "QUIET_HOURS": _quiet_hours,
    "TIMEZONE": _timezone,
    "DEFAULT_REGION": _region,
    "SMS_SIGNATURE": _signature,
    "LOGIN_RATE_LIMIT": _rate_limit,
    "PUBLIC_BASE_URL": _url,
    "TWILIO_API_BASE_URL": _url,
    "ALIYUN_CALLBACK_TOKEN": _callback_token,
    "ALIYUN_CALLBACK_ALLOW": _networks,
}


def check_settings(config):
    """Raise SettingsError naming every setting that is wrong (all of them, not the first)."""
    problems = [str(value) for value in config.values() if isinstance(value, Invalid)]
    for name, check in CHECKS.items():
        value = config.get(name)
        if value in (None, "") or isinstance(value, Invalid):
            continue
        try:
            check(value)
        except ValueError as exc:
            problems.append(f"{name}={value!r}: {exc}")
    problems += _gateway_problems(config)
    locale = config.get("DEFAULT_LOCALE")
    if locale not in config.get("LANGUAGES", {}):
        problems.append(f"DEFAULT_LOCALE={locale!r}: expected one of {', '.join(config.get('LANGUAGES', {}))}")
    if problems:
        raise SettingsError(problems)


def _gateway_problems(config):
    from notifier.gateways.registry import parse_gateways, parse_routes

    gateways, routes = config.get("SMS_GATEWAY") or "twilio", config.get("SMS_ROUTES")
    try:
        names = parse_gateways(gateways)
    except ValueError as exc:
        return [f"SMS_GATEWAY={gateways!r}: {exc}"]
    try:
        parse_routes(routes, names)
    except ValueError as exc:
        return [f"SMS_ROUTES={routes!r}: {exc}"]
    return []
