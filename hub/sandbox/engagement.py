"""How the fake platforms' engagement counters grow: deterministic from the item's id and its age.

Real counters rise fast after publication and then level off. The fakes use
``count(ref, metric, age_hours)``: a per-item rate drawn from the SHA-256 of
``ref:metric`` (so two posts differ, and a test can compute the expected value
from the id and the age) times a saturating curve of whole hours since
publication. ``now(sb)`` is the fakes' clock: real time plus the option
``metrics_clock_offset`` (seconds), so a test can look at a post "two days
later" without waiting (the hub's collector takes the same ``now``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

#: per metric: (base rate per hour range low, high) — reads grow fastest, favourites slowest
RATES: dict[str, tuple[int, int]] = {
    "reads": (20, 60), "read_users": (15, 45), "shares": (2, 8), "share_users": (1, 6), "favorites": (1, 4),
    "reposts": (1, 6), "comments": (1, 4), "attitudes": (3, 12),
}
#: after this many hours a counter grows by a tenth of its early rate (interest fades)
FADE_HOURS = 48


def now(sb: Any) -> float:
    """The fakes' clock for counters and datacube dates (real time + ``options["metrics_clock_offset"]``)."""
    return time.time() + float(sb.options.get("metrics_clock_offset", 0))


def rate(ref: str, metric: str) -> int:
    low, high = RATES.get(metric, (1, 5))
    digest = int(hashlib.sha256(f"{ref}:{metric}".encode()).hexdigest()[:8], 16)
    return low + digest % (high - low + 1)


def count(ref: str, metric: str, age_hours: float) -> int:
    """The counter ``metric`` of item ``ref`` after ``age_hours`` (whole hours count; never negative)."""
    hours = max(0, int(age_hours))
    early = min(hours, FADE_HOURS)
    late = hours - early
    r = rate(ref, metric)
    return r * early + (r * late) // 10


__all__ = ["FADE_HOURS", "RATES", "count", "now", "rate"]
