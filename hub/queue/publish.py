"""Publishing a version: one delivery row per (version, channel, target), then hints.

Why rows first and messages after the commit: the row is the promise. If the
process dies between the commit and the enqueue, ``requeue_due`` finds the
rows; if the enqueue happened first and the commit failed, a worker would look
for a row that does not exist. Publishing the same version again creates
nothing (the idempotency key is UNIQUE) and returns the existing rows (F4).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audience.digest import held_until
from hub.config import get_config
from hub.errors import InputError, WorkflowError
from hub.queue import ledger
from hub.queue.states import State
from hub.record import Record
from hub.store.models import DeliveryRow, UserRow, VersionRow
from hub.timeutil import utcnow


def routing_fields(row: VersionRow, record: Record) -> dict[str, Any]:
    """The record fields routes match on (level, region, stage, domain, department)."""
    return {"level": row.level, "region": row.region, "stage": row.stage, "domain": row.domain,
            "department": row.department, "item": row.item}


def planned_targets(row: VersionRow, record: Record, channels: Iterable[str] | None = None) -> list[str]:
    """Target names the routing selects, narrowed to ``channels`` when given."""
    config = get_config()
    names = config.targets_for(routing_fields(row, record))
    if channels is not None:
        wanted = {c.strip() for c in channels if c.strip()}
        known = {t.channel for t in config.targets.values()}
        unknown = wanted - known
        if unknown:
            raise InputError(f"--channels: unknown channel(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(known))}")
        names = [n for n in names if config.targets[n].channel in wanted]
    return names


def _not_after(channel: str, start: datetime) -> datetime | None:
    hours = get_config().render.not_after_hours.get(channel)
    return start + timedelta(hours=hours) if hours else None


def publish(session: Session, ref: str, *, actor: UserRow | str, channels: Iterable[str] | None = None,
            now: datetime | None = None, at: datetime | None = None) -> list[DeliveryRow]:
    """Create the deliveries of an approved (or already published) version; idempotent.

    Marks the version ``published`` through the workflow (which checks the actor's
    right to publish). The caller commits, then calls ``enqueue`` with the ids.
    ``at`` (定时发布) in the future makes the rows wait in the ledger until then: they are
    not due before it (``next_attempt_at`` and ``scheduled_at``), and their freshness
    window starts at ``at``.
    """
    from hub import workflow
    from hub.store import repo

    now = now or utcnow()
    row, record = repo.get_version(session, ref)
    if row.state not in ("approved", "published"):
        raise WorkflowError(f"version {row.version[:12]} of {row.record_id} is {row.state}; "
                            "only an approved version can be published")
    workflow.publish(session, row, actor)
    actor_name = actor if isinstance(actor, str) else actor.name
    # delivery windows run from the hub's publication, not the document's own date (an old
    # record published today is fresh news on its channels today)
    scheduled = at if at is not None and at > now else None
    start = scheduled or now
    out: list[DeliveryRow] = []
    config = get_config()
    for name in planned_targets(row, record, channels):
        channel = config.targets[name].channel
        key = ledger.idempotency_key(row.record_id, row.version, channel, name)
        existing = session.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
        if existing is not None:
            out.append(existing)
            continue
        # 汇总短信: a non-urgent SMS waits its audience's digest window for other records to join it
        due = held_until(channel=channel, target_name=name, purpose="publish", extra=dict(record.extra), start=start)
        delivery = DeliveryRow(record_id=row.record_id, version=row.version, channel=channel, target=name,
                               idempotency_key=key, state=State.QUEUED, attempts=0, redeliveries=0,
                               next_attempt_at=due, not_after=_not_after(channel, start),
                               needs_attention=False, created_at=now, updated_at=now,
                               hinted_at=None if scheduled or due > start else now,
                               purpose="publish", scheduled_at=scheduled)
        try:
            with session.begin_nested():
                session.add(delivery)
                session.flush()
        except IntegrityError:  # a concurrent publish of the same version won the race
            again = session.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
            if again is not None:
                out.append(again)
            continue
        ledger.created_event(session, delivery, actor=f"user:{actor_name}", now=now)
        out.append(delivery)
    return out


def enqueue(ids: Iterable[int], channels: dict[int, str] | None = None) -> None:
    """Hint the broker for freshly created rows (after the commit); ``channels`` (id → channel) saves a read each."""
    from hub.queue.actors import hint
    from hub.queue.queues import deliver_actor

    for delivery_id in ids:
        channel = (channels or {}).get(delivery_id)
        hint(deliver_actor(channel, "publish") if channel is not None else "deliver", delivery_id, None)


def publish_and_enqueue(ref: str, *, actor: UserRow | str, channels: Iterable[str] | None = None) -> list[int]:
    """``publish`` in its own transaction, then hints for the rows still queued; returns the delivery ids."""
    from hub.store.db import session_scope

    with session_scope() as s:
        actor_obj: UserRow | str = actor
        if isinstance(actor, str):
            from hub.auth import get_user

            actor_obj = get_user(s, actor) or actor
        rows = publish(s, ref, actor=actor_obj, channels=channels)
        ids = [r.id for r in rows]
        fresh = {r.id: r.channel for r in rows if r.state == State.QUEUED}
    enqueue(fresh, fresh)
    return ids
