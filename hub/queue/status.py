"""What ``hub status`` shows, the console reads and ``/metrics`` exports: the ledger, summarised.

``status_json`` is a contract (the console and outside tools parse it):

    {"generated_at": iso, "broker": str,
     "summary": {"total": n, "by_state": {state: n}, "by_channel": {channel: {state: n}},
                 "attention": n, "stuck": n, "unknown": n},
     "engine": {"ok", "last_pass", "by", "reason"},
     "flags": [{"key", "reason", "until"}],
     "deliveries": [{"id", "record_id", "version", "channel", "target", "state", "attempts",
                     "redeliveries", "provider_ref", "last_error": {"class", "message"} | null,
                     "needs_attention", "stuck": reason | null, "created_at", "updated_at",
                     "next_attempt_at", "not_after",
                     "purpose": "publish" | "correct" | "withdraw", "origin_id": id | null (the delivery it
                     corrects or withdraws), "scheduled_at": iso | null (定时发布)}]}

Deliveries needing a person, stuck, or ``unknown`` come first, then the rest by id.
Timestamps are ISO 8601 in Asia/Shanghai (+08:00).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hub.queue import ledger
from hub.queue.context import Deps
from hub.queue.states import State
from hub.queue.sweeper import health, watchdog
from hub.settings import get_settings
from hub.store.models import DeliveryRow, RecordRow, SmsRecipientRow
from hub.timeutil import iso_local, utcnow


def _rows(session: Session, ref: str | None) -> list[DeliveryRow]:
    query = select(DeliveryRow)
    if ref and ref.isdigit() and len(ref) < 8:  # a delivery id
        query = query.where(DeliveryRow.id == int(ref))
    elif ref and session.get(RecordRow, ref) is not None:  # a record: every version's deliveries (publish,
        query = query.where(DeliveryRow.record_id == ref)      # correct, withdraw)
    elif ref:
        from hub.errors import NotFound
        from hub.store import repo

        try:
            version = repo.find_version(session, ref)
            query = query.where(DeliveryRow.version == version.version)
        except NotFound:  # a record id whose deliveries span versions, or nothing
            query = query.where(DeliveryRow.record_id == ref)
    return list(session.scalars(query.order_by(DeliveryRow.id)))


def delivery_json(row: DeliveryRow, stuck: str | None = None) -> dict[str, Any]:
    err = None
    if row.last_error_class or row.last_error_msg:
        err = {"class": row.last_error_class, "message": row.last_error_msg}
    return {
        "id": row.id, "record_id": row.record_id, "version": row.version, "channel": row.channel,
        "target": row.target, "state": row.state, "attempts": row.attempts, "redeliveries": row.redeliveries,
        "provider_ref": row.provider_ref, "last_error": err, "needs_attention": bool(row.needs_attention),
        "stuck": stuck, "created_at": iso_local(row.created_at), "updated_at": iso_local(row.updated_at),
        "next_attempt_at": iso_local(row.next_attempt_at), "not_after": iso_local(row.not_after),
        "purpose": row.purpose or "publish", "origin_id": row.origin_id, "scheduled_at": iso_local(row.scheduled_at),
    }


def _rank(d: dict[str, Any]) -> tuple[int, int]:
    if d["needs_attention"]:
        return (0, d["id"])
    if d["stuck"] or d["state"] == State.UNKNOWN:
        return (1, d["id"])
    return (2, d["id"])


def status_json(session: Session, ref: str | None = None, *, now: datetime | None = None,
                visible: Callable[[DeliveryRow], bool] | None = None) -> dict[str, Any]:
    """The ledger for one record/version/delivery id (``ref``) or for everything.

    ``visible`` keeps only the deliveries a caller may see (the web API passes the
    department rule); the summary counts only those.
    """
    from hub.queue.broker import describe

    now = now or utcnow()
    rows = [r for r in _rows(session, ref) if visible is None or visible(r)]
    stuck = {s.id: s.reason for s in watchdog(session, now=now, deps=Deps())}
    items = sorted((delivery_json(r, stuck.get(r.id)) for r in rows), key=_rank)
    by_state = Counter(r.state for r in rows)
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_channel[r.channel][r.state] += 1
    return {
        "generated_at": iso_local(now),
        "broker": describe(get_settings().broker_url),
        "summary": {
            "total": len(rows),
            "by_state": dict(sorted(by_state.items())),
            "by_channel": {ch: dict(sorted(c.items())) for ch, c in sorted(by_channel.items())},
            "attention": sum(1 for i in items if i["needs_attention"]),
            "stuck": sum(1 for i in items if i["stuck"]),
            "unknown": by_state.get(State.UNKNOWN, 0),
        },
        "engine": health(session, now=now),
        "flags": [{"key": f.key, "reason": (f.value or {}).get("reason"), "until": iso_local(f.expires_at)}
                  for f in ledger.flags(session, now=now)],
        "deliveries": items,
    }


def settled(session: Session, ids: list[int]) -> bool:
    """True when none of ``ids`` is still on its way (terminal, unknown, or waiting for a person)."""
    rows = session.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(ids))).all()
    return all(r.state in (State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED, State.UNKNOWN)
               or r.needs_attention for r in rows)


def settled_count(session: Session, ids: list[int]) -> int:
    """How many of ``ids`` are no longer on their way (``settled``'s rule, counted: for a progress bar)."""
    rows = session.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(ids))).all()
    return sum(1 for r in rows if r.state in (State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED,
                                              State.UNKNOWN) or r.needs_attention)


def recipients_done(session: Session, ids: list[int]) -> tuple[int, int]:
    """(numbers past sending, numbers) over the bulk-SMS recipients of ``ids``: the fan-out's progress."""
    done = func.sum(case((SmsRecipientRow.state.in_(("pending", "sending")), 0), else_=1))
    total, finished = session.execute(select(func.count(), func.coalesce(done, 0))
                                      .where(SmsRecipientRow.delivery_id.in_(ids))).one()
    return int(finished), int(total)


def terminal(session: Session, ids: list[int]) -> bool:
    rows = session.scalars(select(DeliveryRow.state).where(DeliveryRow.id.in_(ids))).all()
    return all(s in (State.CONFIRMED, State.FAILED, State.EXPIRED, State.CANCELLED) for s in rows)


def table(data: dict[str, Any]) -> str:
    """The delivery table for people (what ``hub status`` and ``hub demo`` print)."""
    lines = [f"{'id':>5}  {'channel':<10} {'target':<17} {'state':<10} {'tries':>5}  {'provider ref':<28} note"]
    for d in data["deliveries"]:
        note = "" if d.get("purpose", "publish") == "publish" else f"[{d['purpose']}] "
        if d.get("scheduled_at") and d["state"] == State.QUEUED:
            note += f"scheduled for {d['scheduled_at'][:16].replace('T', ' ')} (UTC+8) "
        if d["needs_attention"]:
            note += "NEEDS A PERSON: "
        elif d["stuck"]:
            note += f"stuck ({d['stuck']}): "
        if d["last_error"] and d["state"] not in (State.CONFIRMED,):
            note += f"{d['last_error']['class']}: {d['last_error']['message']}"
        ref = (d["provider_ref"] or "-")[:28]
        lines.append(f"{d['id']:>5}  {d['channel']:<10} {d['target']:<17} {d['state']:<10} {d['attempts']:>5}  "
                     f"{ref:<28} {note[:120]}")
    s = data["summary"]
    lines.append("")
    lines.append(f"{s['total']} deliveries: " + ", ".join(f"{k} {v}" for k, v in s["by_state"].items())
                 + (f"; {s['attention']} need a person" if s["attention"] else "")
                 + (f"; {s['stuck']} stuck" if s["stuck"] else ""))
    engine = data.get("engine") or {}
    if not engine.get("ok", True):
        lines.append(f"engine: {engine.get('reason')}")
    for f in data["flags"]:
        lines.append(f"flag {f['key']}: {f['reason']} (until {f['until'] or 'a person clears it'})")
    return "\n".join(lines)


def ledger_families(session: Session, *, now: datetime | None = None) -> list[GaugeMetricFamily]:
    """The ledger's counts as Prometheus metric families, for the web layer's ``/metrics`` collector.

    Dramatiq's own counters (messages, retries, durations) come from its Prometheus
    middleware in ``hub worker`` processes; these gauges come from the database, so
    they are true whichever process serves them.
    """
    now = now or utcnow()
    deliveries = GaugeMetricFamily("hub_deliveries", "Deliveries in the ledger by channel and state.",
                                   labels=["channel", "state"])
    for channel, state, n in session.execute(select(DeliveryRow.channel, DeliveryRow.state, func.count())
                                             .group_by(DeliveryRow.channel, DeliveryRow.state)):
        deliveries.add_metric([channel, state], n)
    stuck = watchdog(session, now=now, deps=Deps())
    return [
        deliveries,
        GaugeMetricFamily("hub_deliveries_stuck", "Deliveries older than their state's limit or waiting for a person.",
                          value=len(stuck)),
        GaugeMetricFamily("hub_deliveries_oldest_stuck_seconds", "Age of the oldest stuck delivery.",
                          value=round(max((s.age_s for s in stuck), default=0))),
        GaugeMetricFamily("hub_channel_flags", "Account flags in force (quota exhausted, auth expired).",
                          value=len(ledger.flags(session, now=now))),
        GaugeMetricFamily("hub_engine_healthy", "1 when a maintenance pass ran within the last two minutes.",
                          value=int(health(session, now=now)["ok"])),
    ]

