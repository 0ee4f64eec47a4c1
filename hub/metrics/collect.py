"""Collect engagement figures: every measurable channel's platform, plus the hub's own counts.

``collect(now=None)`` is one pass, run on demand (``hub metrics collect``) and by the
periodic actor (``hub.metrics.schedule``):

1. **Platforms** — for every channel whose declaration has the ``metrics`` capability
   (``hub.channels.base.Measurable``), its confirmed deliveries are grouped by target and
   handed to ``channel.metrics`` in batches of the declaration's ``metrics_batch`` (Weibo
   ``statuses/count`` takes 100 ids; WeChat's datacube answers a whole publication day per
   call). Figures are cumulative and stored as the day's increase (``hub.metrics.store``).
   A refused call follows the delivery retry policy: ``Retryable`` / short ``RateLimited``
   are tried again after ``hub.queue.policy.backoff`` (up to ``ATTEMPTS``); a daily quota
   (WeChat 45009), ``AuthExpired`` or ``Permanent`` stop that target for this pass. Nothing
   is written for it, so the last figures stay with their date; the failure is noted in
   ``channel_state`` (``metrics-failed:<channel>:<target>``) for the console.
2. **Scans** — the ``scans`` rows (one per open of a per-channel short link or QR code),
   counted per code and Beijing day.
3. **Portal page views** — the ``page_views`` rows (one per visitor per day, see
   ``hub.metrics.pageviews``), counted per version and day.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hub.channels.base import Capability
from hub.deliverables import Receipt, Target
from hub.errors import HubError, Retryable
from hub.metrics import store
from hub.store.models import ChannelStateRow, DeliveryRow, PageViewRow, ScanRow, ShortLinkRow
from hub.timeutil import SHANGHAI, utcnow

log = logging.getLogger("hub.metrics")

#: tries per platform call (the first and two retries), as the engine retries a send
ATTEMPTS = 3
#: a rate limit longer than this is not waited for inside a pass (the next pass comes back)
MAX_WAIT_S = 30.0
FAILED_PREFIX = "metrics-failed:"
LAST_RUN_KEY = "metrics-last-run"


@dataclass
class ChannelTally:
    """What one pass did for one channel: calls made, figures stored, targets refused."""

    calls: int = 0
    items: int = 0
    rows: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    """The outcome of one collection pass (``hub metrics collect --json`` prints it)."""

    day: str
    channels: dict[str, ChannelTally] = field(default_factory=dict)
    scans: int = 0
    views: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "seconds": round(self.seconds, 3), "scans_rows": self.scans,
                "views_rows": self.views,
                "channels": {n: {"calls": t.calls, "items": t.items, "rows": t.rows, "failures": t.failures}
                             for n, t in sorted(self.channels.items())}}


@dataclass
class _Delivery:
    id: int
    version: str
    receipt: Receipt


def _sessions_default() -> Callable[[], Any]:
    from hub.store.db import session_scope

    return session_scope


def measurable_channels() -> list[str]:
    """The channels whose declaration implements ``metrics`` (derived, never listed)."""
    from hub.channels import registry

    return [n for n in registry.channel_names() if Capability.METRICS in registry.declaration(n).capabilities()]


def _confirmed(session: Any, channel: str) -> dict[str, list[_Delivery]]:
    from hub.queue.deliver import receipt_from_json
    from hub.queue.states import State

    out: dict[str, list[_Delivery]] = defaultdict(list)
    q = (select(DeliveryRow.id, DeliveryRow.version, DeliveryRow.target, DeliveryRow.receipt)
         .where(DeliveryRow.channel == channel, DeliveryRow.state == State.CONFIRMED)
         .order_by(DeliveryRow.id))
    for did, version, target, data in session.execute(q):
        if not data or not data.get("provider_ref"):
            continue
        out[str(target)].append(_Delivery(int(did), str(version), receipt_from_json(dict(data))))
    return out


def _call(fn: Callable[[], dict[str, dict[str, int]]], *, sleep: Callable[[float], None]) -> dict[str, dict[str, int]]:
    """One platform call under the delivery retry policy (typed errors; backoff between tries)."""
    from hub.queue.policy import EngineSettings, backoff

    settings = EngineSettings()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except Retryable as exc:
            wait = exc.retry_after if exc.retry_after is not None else backoff(attempt, settings)
            if attempt == ATTEMPTS or getattr(exc, "daily", False) or wait > MAX_WAIT_S:
                raise
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def collect_platform(channel_name: str, *, now: datetime, sessions: Callable[[], Any],
                     sleep: Callable[[float], None] = time.sleep,
                     channel: Any = None, targets: Callable[[str], Target] | None = None) -> ChannelTally:
    """Ask one measurable channel for the figures of its confirmed deliveries; store them."""
    from hub.channels import registry
    from hub.queue.context import target_for

    tally = ChannelTally()
    adapter: Any = channel or registry.get_channel(channel_name)
    batch = max(1, int(registry.declaration(channel_name).metrics_batch))
    to_target = targets or target_for
    with sessions() as s:
        by_target = _confirmed(s, channel_name)
        rows = store.attributions(s, {d.version for ds in by_target.values() for d in ds})
    day = store.day_of(now)
    for target_name, deliveries in sorted(by_target.items()):
        figures: dict[str, tuple[store.Attribution, dict[str, int]]] = {}
        failed: dict[str, Any] | None = None
        try:
            target = to_target(target_name)
        except HubError as exc:  # a target no longer configured: its figures stay as they were
            failed = {"target": target_name, "error": type(exc).__name__, "message": str(exc)}
            deliveries = []
        for i in range(0, len(deliveries), batch):
            chunk = deliveries[i:i + batch]
            tally.calls += 1

            def ask(c: list[_Delivery] = chunk, t: Target = target) -> dict[str, dict[str, int]]:
                return dict(adapter.metrics([d.receipt for d in c], t, now=now))

            try:
                got = _call(ask, sleep=sleep)
            except HubError as exc:  # ChannelError from the platform, ConfigError from the account
                failed = {"target": target_name, "error": type(exc).__name__, "message": str(exc),
                          "code": getattr(exc, "vendor_code", None)}
                log.warning("metrics %s/%s refused: %s; the last figures stay", channel_name, target_name,
                            str(exc))
                break
            for d in chunk:
                totals = got.get(d.receipt.provider_ref)
                row = rows.get(d.version)
                if totals is not None and row is not None:
                    figures[f"delivery:{d.id}"] = (store.attribute(row, channel_name), totals)
        with sessions() as s:
            tally.rows += store.put_cumulative(s, figures, day=day, now=now)
            _note(s, channel_name, target_name, failed, now)
        tally.items += len(figures)
        if failed is not None:
            tally.failures.append(failed)
    return tally


def _note(session: Any, channel: str, target: str, failed: dict[str, Any] | None, now: datetime) -> None:
    """Remember the target's last refusal (or clear it), so the console can say why figures are old."""
    key = f"{FAILED_PREFIX}{channel}:{target}"
    row = session.get(ChannelStateRow, key)
    if failed is None:
        if row is not None:
            session.delete(row)
        return
    value = {**failed, "at": now.isoformat()}
    if row is None:
        session.add(ChannelStateRow(key=key, value=value, expires_at=None, updated_at=now))
    else:
        row.value, row.updated_at = value, now


def failures(session: Any) -> dict[str, dict[str, Any]]:
    """``"<channel>:<target>" → the last refusal`` of every target whose last metrics call was refused."""
    rows = session.scalars(select(ChannelStateRow).where(ChannelStateRow.key.startswith(FAILED_PREFIX)))
    return {r.key[len(FAILED_PREFIX):]: dict(r.value) for r in rows}


def _since(now: datetime, days: int | None) -> datetime | None:
    if days is None:
        return None
    local = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    return local


def collect_scans(*, now: datetime, sessions: Callable[[], Any], days: int | None = None) -> int:
    """Scans per short-link code and Beijing day (the last ``days`` days, or all) → exact rows."""
    since = _since(now, days)
    with sessions() as s:
        q = (select(ScanRow.code, ScanRow.at, ShortLinkRow.version, ShortLinkRow.channel)
             .join(ShortLinkRow, ShortLinkRow.code == ScanRow.code))
        if since is not None:
            q = q.where(ScanRow.at >= since)
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        meta: dict[str, tuple[str, str]] = {}
        for code, at, version, channel in s.execute(q):
            counts[(f"link:{code}", store.day_of(at), "scans")] += 1
            meta[f"link:{code}"] = (str(version), str(channel))
        rows = store.attributions(s, {v for v, _ in meta.values()})
        exact = {k: (store.attribute(rows[meta[k[0]][0]], meta[k[0]][1]), n)
                 for k, n in counts.items() if meta[k[0]][0] in rows}
        return store.put_exact(s, exact, now=now)


def collect_views(*, now: datetime, sessions: Callable[[], Any], days: int | None = None) -> int:
    """Portal page views (one per visitor per day) per version and day → exact rows of the web channel."""
    from hub.channels.web import WebChannel

    since = _since(now, days)
    with sessions() as s:
        q = select(PageViewRow.version, PageViewRow.day, func.count()).group_by(PageViewRow.version, PageViewRow.day)
        if since is not None:
            q = q.where(PageViewRow.day >= store.day_of(since))
        found = [(str(v), str(d), int(n)) for v, d, n in s.execute(q)]
        rows = store.attributions(s, {v for v, _, _ in found})
        exact = {(f"page:{v}", d, "views"): (store.attribute(rows[v], WebChannel.name), n)
                 for v, d, n in found if v in rows}
        return store.put_exact(s, exact, now=now)


def collect(*, now: datetime | None = None, sessions: Callable[[], Any] | None = None,
            channels: list[str] | None = None, days: int | None = 3,
            sleep: Callable[[float], None] = time.sleep,
            progress: Callable[[int, int], None] | None = None) -> Report:
    """One collection pass over every measurable channel, the scans and the page views.

    ``days`` bounds the recount of scans and views (the last N Beijing days; None = all, as the
    first pass of an installation does). ``progress(done, total)`` is told after each step
    (each channel, the scans, the views): ``hub metrics collect`` draws it as a bar.
    """
    started = time.perf_counter()
    now = now or utcnow()
    sessions = sessions or _sessions_default()
    report = Report(day=store.day_of(now))
    if days is not None:
        with sessions() as s:  # the first pass ever recounts every day's scans and views
            if s.get(ChannelStateRow, LAST_RUN_KEY) is None:
                days = None
    names = channels if channels is not None else measurable_channels()
    tell = progress or (lambda done, total: None)
    for i, name in enumerate(names):
        report.channels[name] = collect_platform(name, now=now, sessions=sessions, sleep=sleep)
        tell(i + 1, len(names) + 2)
    report.scans = collect_scans(now=now, sessions=sessions, days=days)
    tell(len(names) + 1, len(names) + 2)
    report.views = collect_views(now=now, sessions=sessions, days=days)
    tell(len(names) + 2, len(names) + 2)
    report.seconds = time.perf_counter() - started
    with sessions() as s:  # when the figures were last collected, and how it went (console, tests)
        row = s.get(ChannelStateRow, LAST_RUN_KEY)
        value = {"at": now.isoformat(), **report.to_json()}
        if row is None:
            s.add(ChannelStateRow(key=LAST_RUN_KEY, value=value, expires_at=None, updated_at=now))
        else:
            row.value, row.updated_at = value, now
    return report


__all__ = ["ATTEMPTS", "ChannelTally", "Report", "collect", "collect_platform", "collect_scans", "collect_views",
           "failures", "measurable_channels"]
