"""Times are stored as timezone-aware UTC; shown in the configured TIMEZONE."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow():
    return datetime.now(UTC)


def parse_quiet_hours(value):
    """"22:00-07:00" -> (time(22), time(7)); "" or None -> None. ValueError for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"QUIET_HOURS must look like 22:00-07:00, not {value!r}")
    start, end = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    return None if start == end else (start, end)


def quiet_until(when, config):
    """If `when` (aware) falls in the quiet hours of `config` (QUIET_HOURS in TIMEZONE), the UTC
    time they end; else None. Notices (when they may start) and delivery (every send pass) both
    ask this, so it lives below both."""
    window = parse_quiet_hours(config.get("QUIET_HOURS"))
    if window is None:
        return None
    start, end = window
    zone = ZoneInfo(config["TIMEZONE"])
    local = when.astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-14:00, within one day
        inside = start <= now_t < end
        end_day = local.date()
    else:  # e.g. 22:00-07:00, across midnight
        inside = now_t >= start or now_t < end
        end_day = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
