"""Times are stored as timezone-aware UTC; shown in the configured TIMEZONE."""
from datetime import UTC, datetime


def utcnow():
    return datetime.now(UTC)
