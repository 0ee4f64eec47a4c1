"""What the engine does after each outcome: retry when, give up when, flag what.

Why here and not in Dramatiq's ``Retries``: the ledger is the queue of record,
so the decision (and the attempt count it rests on) must live with the row;
Dramatiq only carries the delay as a hint (``Retry(delay=…)``). One policy per
error class:

* ``Retryable``: capped exponential backoff with full jitter, up to ``max_attempts``.
* ``RateLimited``: after the platform's ``retry_after`` (or the backoff when absent);
  ``daily=True`` flags the channel account as quota-exhausted until the reset.
* ``AuthExpired``: flags the account and holds every delivery of it for a person.
* ``Permanent``: fails at once with the reason in words.
* ``Ambiguous`` / ``DuplicateRejected``: ``unknown``, then reconcile.

All timings come from ``EngineSettings`` so tests can shrink them through the
environment (``HUB_QUEUE_*``) without touching code.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from hub.errors import (
    Ambiguous,
    AuthExpired,
    ChannelError,
    DuplicateRejected,
    Permanent,
    RateLimited,
    Retryable,
)
from hub.timeutil import SHANGHAI


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The engine's timings (seconds) and limits.

    Parameters:
      lease(float): how long a claim holds a row in ``sending`` before the sweeper calls it ``unknown``.
      min_backoff(float), max_backoff(float): bounds of the exponential retry delay.
      max_attempts(int): sends before a ``Retryable`` row becomes ``failed``.
      max_redeliveries(int): expired leases (a worker died holding the row) before ``failed``.
      confirm_first(float), confirm_max(float): first and longest delay between status polls.
      tick(float): how often the maintenance loop runs requeue / sweep / expire / confirm.
      hint_grace(float): requeue_due does not re-send a hint for a row hinted less than this ago.
      write_retry(float): how long the result write is retried after a send succeeded (F14).
      stuck_after(dict): watchdog limit per state.
      unknown_hold(float): how long lookups that cannot tell keep an ``unknown`` row asking before a person must.
    """

    lease: float = 120.0
    min_backoff: float = 15.0
    max_backoff: float = 3600.0
    max_attempts: int = 6
    max_redeliveries: int = 3
    confirm_first: float = 5.0
    confirm_max: float = 600.0
    tick: float = 5.0
    hint_grace: float = 60.0
    write_retry: float = 30.0
    queued_stuck: float = 600.0
    submitted_stuck: float = 86400.0
    unknown_hold: float = 3600.0

    @classmethod
    def from_env(cls) -> EngineSettings:
        """Defaults, overridden by ``HUB_QUEUE_<FIELD>`` (tests shorten leases and backoffs)."""
        base = cls()
        changes: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            raw = os.environ.get(f"HUB_QUEUE_{name.upper()}")
            if raw:
                current = getattr(base, name)
                changes[name] = type(current)(float(raw)) if isinstance(current, int) else float(raw)
        return replace(base, **changes)


@lru_cache(maxsize=1)
def engine_settings() -> EngineSettings:
    """``EngineSettings.from_env`` once per process: the engine builds its world for every message,
    and reading twenty variables each time was a measurable share of a delivery's CPU
    (bench/delivery.py). ``hub.testing.caches.clear_caches`` forgets it with the other settings."""
    return EngineSettings.from_env()


class Action(StrEnum):
    RETRY = "retry"  # retry_wait until next_attempt_at
    FAIL = "fail"  # failed, terminal
    UNKNOWN = "unknown"  # may have landed: reconcile
    HOLD = "hold"  # retry_wait with needs_attention and no due time: a person must act


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a row after an error; ``delay`` in seconds for RETRY."""

    action: Action
    delay: float | None
    reason: str
    flag: str | None = None  # channel_state key to set (quota / auth)
    flag_until: datetime | None = None


def backoff(attempt: int, s: EngineSettings, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: attempt 1 → [min, 2·min], doubling, capped at max."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    base = min(s.max_backoff, s.min_backoff * (2 ** max(0, attempt - 1)))
    return float(min(s.max_backoff, base * (1 + rng.random())))


def next_quota_reset(now: datetime) -> datetime:
    """Daily quotas (WeChat 45009, SMS daily limits) reset at midnight Beijing time."""
    local = now.astimezone(SHANGHAI)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return midnight


def decide(exc: ChannelError, *, attempt: int, channel: str, account: str, now: datetime,
           settings: EngineSettings, rng: random.Random | None = None) -> Decision:
    """Map one channel error of attempt number ``attempt`` to a decision."""
    name = type(exc).__name__
    if isinstance(exc, Ambiguous | DuplicateRejected):
        return Decision(Action.UNKNOWN, None, f"{name}: {exc.message}; the platform may have it: reconciling")
    if isinstance(exc, Permanent):
        return Decision(Action.FAIL, None, f"{name}: {exc.message}")
    if isinstance(exc, AuthExpired):
        return Decision(Action.HOLD, None,
                        f"{name}: account {account} needs re-authorisation by a person ({exc.message})",
                        flag=f"auth-expired:{account}")
    if isinstance(exc, RateLimited) and exc.daily:
        until = now + timedelta(seconds=exc.retry_after) if exc.retry_after else next_quota_reset(now)
        delay = (until - now).total_seconds()
        return Decision(Action.RETRY, delay, f"{name}: daily quota of {account} exhausted until {until.isoformat()}",
                        flag=f"quota-exhausted:{account}", flag_until=until)
    if isinstance(exc, Retryable):
        if attempt >= settings.max_attempts:
            return Decision(Action.FAIL, None, f"{name}: {exc.message}; gave up after {attempt} attempts")
        if exc.retry_after is not None:
            delay = min(max(exc.retry_after, 0.0), 86400.0)  # the platform's word, never shortened
        else:
            delay = backoff(attempt, settings, rng)
        return Decision(Action.RETRY, delay, f"{name}: {exc.message}; retry {attempt + 1} in {delay:.0f} s")
    return Decision(Action.UNKNOWN, None, f"{name}: {exc.message}")
