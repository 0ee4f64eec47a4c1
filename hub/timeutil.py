"""Time rules: store UTC, show Asia/Shanghai.

Every timestamp the hub writes is an aware UTC datetime; every timestamp a
person reads is converted to Asia/Shanghai at the edge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC; a naive one is taken as Asia/Shanghai local time.

    Government pages print local times without an offset, so naive means Beijing time.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """Show an instant in Asia/Shanghai (a naive value read back from SQLite is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def iso_local(value: datetime | None) -> str | None:
    """ISO 8601 with the +08:00 offset, as the JSON contracts print it."""
    return None if value is None else to_local(value).isoformat()
