"""Quiet hours and urgency: no non-urgent bulk message at night (Asia/Shanghai).

Why here and not in a channel: whether a citizen may be woken is a property of
the audience, not of the vendor; any bulk channel asks ``quiet_wait`` before
sending and raises ``RateLimited`` until the window ends. ``seconds_until`` is
the one "until hh:mm Beijing time" clock (midnight quota resets, 08:00).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from hub.errors import ConfigError, RateLimited
from hub.timeutil import SHANGHAI


def seconds_until(now: datetime, hour: int, minute: int = 0) -> float:
    """Seconds from ``now`` to the next ``hour:minute`` in Beijing time (at least 1)."""
    local = now.astimezone(SHANGHAI)
    end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return max(1.0, (end - local).total_seconds())


def parse_quiet_hours(value: str | None, *, key: str) -> tuple[time, time] | None:
    """``"22:00-08:00"`` → (22:00, 08:00); empty/``"off"`` → None."""
    if not value or str(value).strip().lower() in ("off", "none", ""):
        return None
    try:
        start_s, end_s = str(value).split("-")
        start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
    except ValueError:
        raise ConfigError(f"channels.toml: {key} must look like \"22:00-08:00\"") from None
    return start, end


def quiet_wait(now: datetime, window: tuple[time, time] | None) -> float | None:
    """Seconds until the quiet window ends, or None when ``now`` is outside it (Asia/Shanghai)."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(SHANGHAI)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    return seconds_until(now, end.hour, end.minute)


def truthy(value: Any) -> bool:
    """``urgent = true`` in whatever form an editor wrote it (``"true"``, ``"1"``, ``"yes"``, ``"是"``)."""
    return str(value).strip().lower() in ("true", "1", "yes", "是") if value is not None else False


def hold_if_quiet(now: datetime, value: str, *, key: str, channel: str) -> None:
    """Raise ``RateLimited`` (until the window ends) when ``now`` is inside the quiet hours ``value``."""
    wait_s = quiet_wait(now, parse_quiet_hours(value, key=key))
    if wait_s is not None:
        raise RateLimited(f"{channel}: quiet hours ({value} Asia/Shanghai); non-urgent SMS wait until they end", wait_s)
